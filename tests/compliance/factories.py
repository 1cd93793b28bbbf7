"""Builders of evidence for the pure check tests (plain data: no services involved)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from compliance.evidence import Evidence, EvidenceSet, Payload
from compliance.models import Period

T0 = datetime(2026, 3, 1, tzinfo=UTC)
PERIOD = Period(start=T0, end=T0 + timedelta(days=1))
_ids = count(1)


def ev(payload: Payload, at: datetime, id: str | None = None) -> Evidence:
    ident = id or str(next(_ids))
    return Evidence(id=ident, kind=payload.kind, effective_at=at, sha256=f"{int(ident):064x}", payload=payload)


def evidence(*items: Evidence) -> EvidenceSet:
    return EvidenceSet(items)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
