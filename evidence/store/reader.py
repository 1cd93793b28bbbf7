"""A seekable reader over a blob stored in chunks, checking every byte it hands out against a digest.

Each chunk is fetched on demand (a zip reader seeks to the central directory, a ranged download starts anywhere)
and checked by the store's `fetch` (per-chunk digests where the store keeps them). A reader that went from the
first byte to the last without seeking also checks the whole blob's SHA-256 and refuses to report a clean end of
file when it differs.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

from evidence.errors import LockerIntegrityError

Fetch = Callable[[int], bytes]


class BlobReader(io.RawIOBase):
    def __init__(self, sha256: str, size: int, chunk_bytes: int, fetch: Fetch) -> None:
        super().__init__()
        self.sha256 = sha256
        self.size = size
        self._chunk_bytes = chunk_bytes
        self._fetch = fetch
        self._position = 0
        self._cached: tuple[int, bytes] | None = None
        self._digest: hashlib._Hash | None = hashlib.sha256()
        self._hashed = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        target = base + offset
        if target < 0:
            raise ValueError("negative seek position")
        if target != self._hashed:
            # Anywhere but where the running digest stopped: the whole-blob check no longer applies.
            self._digest = None
        self._position = target
        return target

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._position >= self.size:
            self._finish()
            return 0
        index, offset = divmod(self._position, self._chunk_bytes)
        chunk = self._chunk(index)
        piece = chunk[offset : offset + len(buffer)]
        if not piece:
            raise LockerIntegrityError(f"blob {self.sha256}: chunk {index} is shorter than its recorded size")
        buffer[: len(piece)] = piece
        if self._digest is not None and self._hashed == self._position:
            self._digest.update(piece)
            self._hashed += len(piece)
        self._position += len(piece)
        return len(piece)

    def _chunk(self, index: int) -> bytes:
        if self._cached is None or self._cached[0] != index:
            self._cached = (index, self._fetch(index))
        return self._cached[1]

    def _finish(self) -> None:
        if self._digest is not None and self._hashed == self.size and self._digest.hexdigest() != self.sha256:
            self._digest = None
            raise LockerIntegrityError(f"blob {self.sha256} was altered: its bytes no longer hash to its name")
