"""The one explicit ceiling of the engine: an alert storm folds a rule's groups into one alert that says so.

Every group normally gets its own alert, however many there are. Past `storm_groups` groups in one run of one
rule (a misfiring rule, or an attack from a botnet), thousands of alerts help nobody and cost Elasticsearch a
sample search per group, so the run raises a single "alert storm" alert for the rule instead: it states how many
groups and events were folded into it, their exact time span and the top groups by events. The run record and
the rule page carry the same numbers, and `vigil_detections_alert_storms_total` counts storms.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime

from detections.alerts.store import Candidate
from detections.catalog.compiled import CompiledRule
from detections.engine.windows import Window
from detections.models import EventSnapshot

TOP_GROUPS = 10
STORM_GROUP_KEY = "*alert-storm*"


@dataclass
class StormTally:
    """Exact totals of the groups folded into a storm, plus the `TOP_GROUPS` largest."""

    groups: int = 0
    events: int = 0
    first: datetime | None = None
    last: datetime | None = None
    top: list[tuple[int, str]] = field(default_factory=list)  # min-heap of (events, group key)

    def add(self, key: str, events: int, first: datetime, last: datetime) -> None:
        self.groups += 1
        self.events += events
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)
        if len(self.top) < TOP_GROUPS:
            heapq.heappush(self.top, (events, key))
        elif (events, key) > self.top[0]:
            heapq.heapreplace(self.top, (events, key))

    def top_groups(self) -> list[tuple[str, int]]:
        return [(key, events) for events, key in sorted(self.top, key=lambda t: (-t[0], t[1]))]


def storm_candidate(rule: CompiledRule, window: Window, tally: StormTally, samples: list[EventSnapshot]) -> Candidate:
    assert tally.first is not None
    assert tally.last is not None
    top = ", ".join(f"{key} ({events})" for key, events in tally.top_groups())
    return Candidate(
        rule=rule.info,
        group_key=STORM_GROUP_KEY,
        first_seen=tally.first,
        last_seen=tally.last,
        count=tally.events,
        events=samples,
        suppress_seconds=rule.suppress_seconds,
        detail=f"alert storm: {tally.groups} groups folded into this alert; top groups: {top}",
        category="storm",
        tally={window.start: tally.events},
        counted_until=window.end,
        folded_groups=tally.groups,
    )
