"""The auditor's engagement period, read from the token claim `engagement: {"from": ..., "to": ...}`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evidence.canonical import parse_rfc3339, utc
from evidence.errors import EngagementError, InvalidEvidenceError


@dataclass(frozen=True)
class Engagement:
    start: datetime
    end: datetime

    def covers_now(self, now: datetime) -> bool:
        return self.start <= utc(now) <= self.end

    def covers_period(self, period_from: datetime, period_to: datetime) -> bool:
        return self.start <= utc(period_from) and utc(period_to) <= self.end


def engagement_from_claims(claims: dict[str, Any]) -> Engagement | None:
    """None when the token carries no engagement (an unbounded reader); a malformed claim is refused."""
    raw = claims.get("engagement")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("from"), str) or not isinstance(raw.get("to"), str):
        raise EngagementError('the engagement claim must be {"from": "<RFC 3339>", "to": "<RFC 3339>"}')
    try:
        start, end = parse_rfc3339(raw["from"]), parse_rfc3339(raw["to"])
    except InvalidEvidenceError as exc:
        raise EngagementError(f"the engagement claim is malformed: {exc}") from None
    if end <= start:
        raise EngagementError("the engagement period ends before it starts")
    return Engagement(start=start, end=end)


def current_engagement(claims: dict[str, Any], now: datetime) -> Engagement | None:
    """The token's engagement, refused (`EngagementError`) when it does not cover `now`."""
    engagement = engagement_from_claims(claims)
    if engagement is not None and not engagement.covers_now(now):
        raise EngagementError(
            f"the engagement period {engagement.start.isoformat()} .. {engagement.end.isoformat()} is not current"
        )
    return engagement
