"""Blobs in an Elasticsearch index, in chunks: the default store, because every Vigil deployment has the cluster.

Layout of one blob: chunk documents `{upload}.{n}` (`data`: base64 of at most `chunk_bytes` bytes) written first,
under a random upload id, then the head document `_id = sha256` (size, chunk size, count, upload id and the
SHA-256 of every chunk) created with `op_type=create`. The head is what makes a blob exist: a reader never finds
a head whose chunks are not all stored, two writers of the same bytes race only on the head (the loser removes
its chunks), and the cluster's replication keeps the blob when a node dies. Reads are realtime GETs by id, so a
blob written through one replica is readable through another at once, without a refresh.

Why chunks: Elasticsearch refuses requests above `http.max_content_length` (100 MB) and reads whole documents;
1 MiB chunks keep every request small and let a ranged download fetch only the chunks it needs.
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from collections.abc import Callable
from typing import Any, BinaryIO, TypeVar

from elasticsearch import ApiError, ConflictError, Elasticsearch, NotFoundError
from elasticsearch import ConnectionError as EsConnectionError
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from evidence.errors import InvalidEvidenceError, LockerIntegrityError, StoreError
from evidence.store.protocol import Content, check_by_reading, pieces
from evidence.store.reader import BlobReader

# Chunks per bulk request: 8 MiB of content, about 11 MB of base64, far below the 100 MB request limit.
_BULK_BYTES = 8 * 1024 * 1024
# How long a call waits out a shard that is starting or failing over (a data node died, a new index) or a full
# write queue, before the caller gets a StoreError.
RETRY_SECONDS = 60.0
_T = TypeVar("_T")


class _BusyChunks(Exception):
    """Some chunks of a bulk request met a full queue or a starting shard: the request is sent again."""


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, EsConnectionError | _BusyChunks):
        return True
    return isinstance(exc, ApiError) and exc.meta.status in {429, 503}


def _patiently(call: Callable[[], _T]) -> _T:
    retrying = Retrying(
        retry=retry_if_exception(_transient),
        stop=stop_after_delay(RETRY_SECONDS),
        wait=wait_exponential(multiplier=0.05, max=2.0),
        reraise=True,
    )
    return retrying(call)


class ElasticsearchBlobStore:
    def __init__(self, es: Elasticsearch, index: str, chunk_bytes: int, max_bytes: int) -> None:
        self.es = es
        self.index = index
        self.chunk_bytes = chunk_bytes
        self.max_bytes = max_bytes

    def put(self, content: Content) -> tuple[str, int]:
        if isinstance(content, bytes) and len(content) <= self.max_bytes:
            known = hashlib.sha256(content).hexdigest()
            if self._head(known) is not None:
                return known, len(content)
        upload = uuid.uuid4().hex
        digest = hashlib.sha256()
        chunk_digests: list[str] = []
        size = 0
        pending: list[dict[str, Any]] = []
        pending_bytes = 0
        try:
            for piece in pieces(content, self.chunk_bytes):
                size += len(piece)
                if size > self.max_bytes:
                    raise InvalidEvidenceError(f"content exceeds the {self.max_bytes}-byte limit of {self.index}")
                digest.update(piece)
                n = len(chunk_digests)
                chunk_digests.append(hashlib.sha256(piece).hexdigest())
                pending += [
                    {"index": {"_index": self.index, "_id": f"{upload}.{n}"}},
                    {"kind": "chunk", "upload": upload, "n": n, "data": base64.b64encode(piece).decode("ascii")},
                ]
                pending_bytes += len(piece)
                if pending_bytes >= _BULK_BYTES:
                    self._bulk(pending)
                    pending, pending_bytes = [], 0
            if pending:
                self._bulk(pending)
            sha = digest.hexdigest()
            head = {
                "kind": "blob",
                "sha256": sha,
                "size": size,
                "chunk_bytes": self.chunk_bytes,
                "chunks": len(chunk_digests),
                "upload": upload,
                "chunk_digests": chunk_digests,
            }
            try:
                _patiently(lambda: self.es.create(index=self.index, id=sha, document=head))
            except ConflictError:
                # The same bytes were stored meanwhile: theirs stay, ours go.
                self._discard(upload, len(chunk_digests))
        except InvalidEvidenceError:
            self._discard(upload, len(chunk_digests))
            raise
        except (ApiError, EsConnectionError) as exc:
            raise StoreError(f"cannot store a blob in {self.index}: {exc}") from None
        return sha, size

    def open(self, sha256: str) -> BinaryIO:
        head = self._head(sha256)
        if head is None:
            raise LockerIntegrityError(f"blob {sha256} is missing from the store {self.index}")
        upload, digests = head["upload"], head["chunk_digests"]

        def fetch(n: int) -> bytes:
            try:
                found = _patiently(lambda: self.es.get(index=self.index, id=f"{upload}.{n}", realtime=True))
            except NotFoundError:
                raise LockerIntegrityError(f"blob {sha256}: chunk {n} is missing from {self.index}") from None
            except (ApiError, EsConnectionError) as exc:
                raise StoreError(f"cannot read blob {sha256} from {self.index}: {exc}") from None
            data = base64.b64decode(found["_source"]["data"])
            if n >= len(digests) or hashlib.sha256(data).hexdigest() != digests[n]:
                raise LockerIntegrityError(f"blob {sha256} was altered: chunk {n} no longer matches its digest")
            return data

        raw = BlobReader(sha256, int(head["size"]), int(head["chunk_bytes"]), fetch)
        # Buffered: a read(n) returns n bytes even across a chunk boundary (zip headers straddle them).
        return io.BufferedReader(raw, buffer_size=int(head["chunk_bytes"]))

    def check(self, sha256: str, size: int) -> str | None:
        return check_by_reading(self, sha256, size, self.chunk_bytes)

    def _head(self, sha256: str) -> dict[str, Any] | None:
        try:
            found = _patiently(lambda: self.es.get(index=self.index, id=sha256, realtime=True))
        except NotFoundError:
            return None
        except (ApiError, EsConnectionError) as exc:
            raise StoreError(f"cannot read blob {sha256} from {self.index}: {exc}") from None
        source: dict[str, Any] = found["_source"]
        return source

    def _bulk(self, operations: list[dict[str, Any]]) -> None:
        def once() -> None:
            response = self.es.bulk(operations=operations)
            if not response["errors"]:
                return
            failed = [next(iter(item.values())) for item in response["items"] if "error" in next(iter(item.values()))]
            if all(f.get("status") in {429, 503} for f in failed):
                raise _BusyChunks(f"{len(failed)} chunk(s) refused for now: {failed[0]['error']}")
            raise StoreError(f"{self.index} refused a chunk: {failed[0]['error']}")

        try:
            _patiently(once)  # rewriting the same ids is idempotent
        except _BusyChunks as exc:
            raise StoreError(f"{self.index} stayed busy for {RETRY_SECONDS:.0f}s: {exc}") from None

    def _discard(self, upload: str, count: int) -> None:
        if count:
            self.es.bulk(operations=[{"delete": {"_index": self.index, "_id": f"{upload}.{n}"}} for n in range(count)])
