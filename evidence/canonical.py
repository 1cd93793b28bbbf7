"""Canonical JSON and timestamps: the exact bytes that are hashed and signed.

Canonical JSON is the JSON Canonicalization Scheme of RFC 8785: UTF-8, no insignificant whitespace, object keys
sorted by their UTF-16 code units, strings escaped as ECMAScript's JSON.stringify does, numbers written as
ECMAScript writes an IEEE 754 double (`4.5`, `1e+30`, `0.002`), so any RFC 8785 implementation, in any language,
reproduces the bytes. Integers beyond +-2^53 and NaN/Infinity are refused (I-JSON). For what Vigil signed before
(integers, ASCII keys) the bytes are those of the former sorted-keys encoding, so older bundles still verify.
Timestamps are RFC 3339 in UTC with microseconds and a `Z` (`2026-01-02T03:04:05.000000Z`), so equal instants
give equal bytes.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from evidence.errors import InvalidEvidenceError

MAX_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of `value` (dicts with string keys, lists, tuples, strings, numbers, bools, None)."""
    parts: list[str] = []
    try:
        _write(value, parts)
        return "".join(parts).encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError (a lone surrogate) is a ValueError
        raise InvalidEvidenceError(f"value is not canonical JSON material: {exc}") from None


def _write(value: Any, parts: list[str]) -> None:
    if value is None or isinstance(value, bool | str):
        parts.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"integer {value} is beyond +-2^53 (RFC 8785 numbers are IEEE 754 doubles)")
        parts.append(str(value))
    elif isinstance(value, float):
        parts.append(_number(value))
    elif isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("object keys must be strings")
        parts.append("{")
        for n, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))):
            parts.append("," if n else "")
            parts.append(json.dumps(key, ensure_ascii=False))
            parts.append(":")
            _write(value[key], parts)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for n, item in enumerate(value):
            parts.append("," if n else "")
            _write(item, parts)
        parts.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON")


def _number(value: float) -> str:
    """ECMAScript's Number::toString for a finite double (RFC 8785 section 3.2.2.3)."""
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a JSON number")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, as ECMAScript does; only the layout differs.
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(whole + fraction) - len((whole + fraction).lstrip("0")))
    digits = digits.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        text = (digits if k == 1 else digits[0] + "." + digits[1:]) + ("e+" if e > 0 else "e-") + str(abs(e))
    return sign + text


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidEvidenceError(f"timestamp {moment.isoformat()} has no time zone; give an aware datetime")
    return moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    return utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_rfc3339(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvidenceError(f"{text!r} is not an RFC 3339 timestamp") from None
    return utc(parsed)
