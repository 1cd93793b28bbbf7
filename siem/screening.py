"""Screening: which records of a batch the workers will put in the dead letter, and why, told at ingest time.

Parsing is deterministic, so the producer can learn at once what the worker will conclude later: `POST /ingest` and
`vigil ingest file` report it instead of a bare "queued". The records are still queued as they are (the worker's
dead letter keeps them, with their raw text, for replay after a parser fix).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from siem.errors import SiemError
from siem.models import DeadLetterForecast, ReasonCount
from siem.parsers import RecordFormat, parse_record

#: How many distinct reasons a report lists; the rest are counted in `other_reasons`, never dropped in silence.
MAX_REASONS = 5


def failures(fmt: RecordFormat, records: Sequence[str]) -> Counter[str]:
    """Parse every record once, as a worker would; the failures counted by their message."""
    reasons: Counter[str] = Counter()
    received = datetime.now(UTC)
    for record in records:
        try:
            parse_record(fmt, record, event_id="screen", received=received)
        except SiemError as exc:
            reasons[str(exc)] += 1
    return reasons


def forecast(reasons: Counter[str]) -> DeadLetterForecast:
    """The report of counted failures: the most common reasons, and how many others were not listed."""
    common = reasons.most_common(MAX_REASONS)
    return DeadLetterForecast(
        dead_letter=sum(reasons.values()),
        reasons=[ReasonCount(reason=reason, count=count) for reason, count in common],
        other_reasons=len(reasons) - len(common),
    )
