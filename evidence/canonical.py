"""Canonical JSON and timestamps: the exact bytes that are hashed and signed.

Canonical JSON here is UTF-8, keys sorted, no insignificant whitespace, no NaN/Infinity. Timestamps are
RFC 3339 in UTC with microseconds and a `Z` (`2026-01-02T03:04:05.000000Z`), so equal instants give equal bytes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from evidence.errors import InvalidEvidenceError


def canonical_json(value: Any) -> bytes:
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidEvidenceError(f"value is not canonical JSON material: {exc}") from None
    return text.encode("utf-8")


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
