"""Blobs in an S3-compatible bucket, for deployments that have one (`pip install vigil[s3]`, boto3).

UNTESTED here: no S3-compatible server installs from the registries this project's machines reach (MinIO,
SeaweedFS and Garage are not packaged there; moto is a mock, not a server), so this backend has never run against
a real one. It keeps the store's promises by the object store's own semantics: an object becomes visible whole
once its upload completes (a multipart upload too), so a blob appears only complete; the key is the SHA-256 of
the bytes, so the same bytes are stored once. The bytes are spooled to a temporary file first (the key must be
known before the upload starts); readers fetch ranges of `chunk_bytes` and check the whole digest on a
front-to-back read (S3 keeps no per-chunk digests here).
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from typing import Any, BinaryIO

from evidence.errors import InvalidEvidenceError, LockerIntegrityError, StoreError
from evidence.settings import S3StoreSettings
from evidence.store.protocol import Content, check_by_reading, pieces
from evidence.store.reader import BlobReader

_READ_BYTES = 4 * 1024 * 1024
_SPOOL_IN_MEMORY = 8 * 1024 * 1024


class S3BlobStore:
    def __init__(self, settings: S3StoreSettings, kind: str, max_bytes: int) -> None:
        self.bucket = settings.bucket
        self.prefix = settings.prefix + kind
        self.max_bytes = max_bytes
        try:
            # Imported here: boto3 is the optional extra `vigil[s3]`, needed only by those who choose S3.
            import boto3
        except ImportError:
            raise StoreError("the s3 evidence store needs boto3: pip install 'vigil[s3]'") from None
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=settings.endpoint_url,
            region_name=settings.region,
            aws_access_key_id=settings.access_key_id.get_secret_value() if settings.access_key_id else None,
            aws_secret_access_key=settings.secret_access_key.get_secret_value() if settings.secret_access_key else None,
        )

    def put(self, content: Content) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
            for piece in pieces(content, _READ_BYTES):
                size += len(piece)
                if size > self.max_bytes:
                    raise InvalidEvidenceError(f"content exceeds the {self.max_bytes}-byte limit of {self.prefix}")
                digest.update(piece)
                spool.write(piece)
            sha = digest.hexdigest()
            if self._size(sha) is None:
                spool.seek(0)
                try:
                    self._client.upload_fileobj(spool, self.bucket, self.prefix + sha)
                except Exception as exc:  # boto3 raises botocore's and s3transfer's own families
                    raise StoreError(f"cannot store a blob in s3://{self.bucket}/{self.prefix}: {exc}") from None
        return sha, size

    def open(self, sha256: str) -> BinaryIO:
        size = self._size(sha256)
        if size is None:
            raise LockerIntegrityError(f"blob {sha256} is missing from s3://{self.bucket}/{self.prefix}")

        def fetch(n: int) -> bytes:
            first = n * _READ_BYTES
            last = min(size, first + _READ_BYTES) - 1
            try:
                body = self._client.get_object(
                    Bucket=self.bucket, Key=self.prefix + sha256, Range=f"bytes={first}-{last}"
                )
                data: bytes = body["Body"].read()
            except Exception as exc:
                raise StoreError(f"cannot read blob {sha256} from s3://{self.bucket}: {exc}") from None
            return data

        # Buffered: a read(n) returns n bytes even across a chunk boundary (zip headers straddle them).
        return io.BufferedReader(BlobReader(sha256, size, _READ_BYTES, fetch), buffer_size=_READ_BYTES)

    def check(self, sha256: str, size: int) -> str | None:
        return check_by_reading(self, sha256, size, _READ_BYTES)

    def _size(self, sha256: str) -> int | None:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self.prefix + sha256)
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise StoreError(f"cannot reach s3://{self.bucket}: {exc}") from None
        return int(head["ContentLength"])
