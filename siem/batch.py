"""Reading an ingest batch: size limits, gzip, UTF-8, one record per line.

Kept apart from the HTTP adapter so the file tail, the CLI and the tests apply the same limits.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from siem.errors import BatchTooLargeError, InvalidBatchError
from siem.settings import SiemSettings


def gunzip(chunks: Iterable[bytes], limit: int) -> bytes:
    """Decompress a gzip stream without ever holding more than `limit` bytes of output (gzip bombs)."""
    inflater = zlib.decompressobj(wbits=31)
    out = bytearray()
    try:
        for chunk in chunks:
            data = chunk
            while data:
                out += inflater.decompress(data, limit + 1 - len(out))
                if len(out) > limit:
                    raise BatchTooLargeError(f"batch exceeds {limit} bytes once decompressed")
                data = inflater.unconsumed_tail
        out += inflater.flush()
    except zlib.error as exc:
        raise InvalidBatchError(f"body is not valid gzip: {exc}") from None
    if not inflater.eof:
        raise InvalidBatchError("body is not valid gzip: the stream is truncated")
    if len(out) > limit:
        raise BatchTooLargeError(f"batch exceeds {limit} bytes once decompressed")
    return bytes(out)


def split_records(body: bytes, settings: SiemSettings) -> list[str]:
    """UTF-8 lines, blank ones skipped; a line above `max_line_bytes` refuses the whole batch (413)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_number = body.count(b"\n", 0, exc.start) + 1
        raise InvalidBatchError(f"line {line_number} is not valid UTF-8 (byte {exc.start})") from None
    records = []
    for number, line in enumerate(text.split("\n"), 1):
        record = line.removesuffix("\r")
        if not record.strip():
            continue
        # A character is 1 to 4 bytes: encode only lines whose length leaves the byte count in doubt.
        limit = settings.max_line_bytes
        if len(record) > limit or (len(record) * 4 > limit and len(record.encode()) > limit):
            raise BatchTooLargeError(f"line {number} exceeds the {limit}-byte record limit")
        records.append(record)
    if not records:
        raise InvalidBatchError("batch holds no records")
    return records
