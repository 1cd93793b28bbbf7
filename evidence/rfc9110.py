"""RFC 9110 section 14: one byte range of a bundle download.

One range is honoured; a header this parser does not take (another unit, several ranges, a malformed spec) is
ignored and the whole representation is sent, as RFC 9110 14.2 allows. A range that starts past the end is
unsatisfiable (416).
"""

from __future__ import annotations

import re

from evidence.errors import EvidenceError

_ONE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiableError(EvidenceError):
    """The requested byte range lies outside the representation; the answer names the size (RFC 9110 15.5.17)."""

    status_code = 416
    error = "range_not_satisfiable"

    def __init__(self, size: int) -> None:
        self.size = size
        self.headers = {"Content-Range": f"bytes */{size}"}
        super().__init__(f"the requested range lies outside the {size} bytes of the bundle")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive, or None for the whole representation."""
    if header is None:
        return None
    match = _ONE_RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first_text, last_text = match.groups()
    if first_text == "":
        suffix = int(last_text)
        if suffix == 0:
            raise RangeNotSatisfiableError(size)
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size:
        raise RangeNotSatisfiableError(size)
    if last < first:
        return None
    return first, last
