"""What a blob store promises.

A blob is named by the SHA-256 of its bytes: putting the same bytes twice stores them once, and a reader checks
what it reads against that name. A blob becomes visible only once all of it is stored, so a reader on another
replica never sees a partial blob.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Protocol

from evidence.errors import LockerIntegrityError

Content = bytes | BinaryIO


class BlobStore(Protocol):
    def put(self, content: Content) -> tuple[str, int]:
        """Store the bytes (at most the store's limit); returns their SHA-256 and size once all are durable."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """A seekable reader; `LockerIntegrityError` when the blob is missing or its bytes were altered."""
        ...

    def check(self, sha256: str, size: int) -> str | None:
        """None when the stored blob has that size and hashes to its name, else a one-line problem."""
        ...


def pieces(content: Content, size: int) -> Iterator[bytes]:
    """The content in pieces of `size` bytes (the last shorter), never all of a stream in memory."""
    if isinstance(content, bytes | bytearray | memoryview):
        view = memoryview(content)
        for start in range(0, len(view), size):
            yield bytes(view[start : start + size])
        return
    buffered = b""
    while block := content.read(size - len(buffered)):
        buffered += block
        if len(buffered) == size:
            yield buffered
            buffered = b""
    if buffered:
        yield buffered


def check_by_reading(store: BlobStore, sha256: str, size: int, block: int) -> str | None:
    """`BlobStore.check` for any store: read the blob front to back (its reader checks the digest)."""
    seen = 0
    try:
        with store.open(sha256) as reader:
            while data := reader.read(block):
                seen += len(data)
    except LockerIntegrityError as exc:
        return str(exc)
    return None if seen == size else f"blob {sha256} holds {seen} bytes, {size} recorded"
