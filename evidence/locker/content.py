"""Content-addressed files for evidence content.

Content lives in files, not in Elasticsearch: items can be large (an export, a log slice), Elasticsearch is a poor
blob store (whole-document reads, request size limits, source bloat in every segment merge), and files stream
straight into bundles without ever being held in memory. A file is named by its SHA-256, written to a temporary
name, flushed and renamed, so a reader never sees a partial file and equal content is stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from evidence.errors import InvalidEvidenceError, LockerIntegrityError

CHUNK = 1024 * 1024


class ContentStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, content: bytes | BinaryIO) -> tuple[str, int]:
        """Store the content; returns its SHA-256 and size."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(content):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise InvalidEvidenceError(f"content exceeds the {self.max_bytes}-byte limit per item")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            target = self.path(sha)
            target.parent.mkdir(exist_ok=True)
            tmp.chmod(0o444)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return sha, size

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise LockerIntegrityError(f"content file for sha256 {sha256} is missing from {self.root}") from None

    def check(self, sha256: str, size: int) -> str | None:
        """None when the stored file matches, else a one-line problem."""
        try:
            handle = self.open(sha256)
        except LockerIntegrityError as exc:
            return str(exc)
        digest = hashlib.sha256()
        seen = 0
        with handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                seen += len(chunk)
        if seen != size or digest.hexdigest() != sha256:
            return f"content file {sha256} was altered (size {seen}, sha256 {digest.hexdigest()})"
        return None


def _chunks(content: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(content, bytes | bytearray | memoryview):
        view = memoryview(content)
        for start in range(0, len(view), CHUNK):
            yield bytes(view[start : start + CHUNK])
        return
    while chunk := content.read(CHUNK):
        yield chunk
