"""Points in time as analysts type them: ISO 8601 (no zone means UTC) or `now`, `now-15m`, `now-7d`.

One parser for the CLI, the API and the console, so `--from now-1h` means the same everywhere.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from detections.errors import QueryError

_RELATIVE = re.compile(r"now(?:-(\d{1,6})([smhdw]))?")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(text: str, now: datetime, *, name: str = "time") -> datetime:
    """An aware UTC datetime; a `QueryError` naming `name` for anything else (never a ValueError)."""
    value = text.strip()
    relative = _RELATIVE.fullmatch(value)
    if relative:
        amount, unit = relative.groups()
        return now if amount is None else now - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise QueryError(f"{name}: {text[:60]!r} is neither ISO 8601 nor now[-N(s|m|h|d|w)]") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def time_range(start: str | datetime, end: str | datetime, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) with start before end, both aware UTC."""
    first = start if isinstance(start, datetime) else parse_moment(start, now, name="from")
    last = end if isinstance(end, datetime) else parse_moment(end, now, name="to")
    first = first if first.tzinfo else first.replace(tzinfo=UTC)
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    if first >= last:
        raise QueryError(f"from ({first.isoformat()}) must be before to ({last.isoformat()})")
    return first, last
