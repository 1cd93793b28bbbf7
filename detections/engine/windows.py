"""Run windows keyed on `event.ingested`: from the persisted checkpoint to now minus the ingest delay.

Events are searched by when they were indexed, not when they happened, so an event that arrives late still
falls into a later window; after downtime a rule catches up in bounded windows, never skipping a span.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

TimeField = Literal["event.ingested", "@timestamp"]


@dataclass(frozen=True)
class Window:
    """The span [start, end) of one run, on `field`: `event.ingested` for the live engine (late events still
    land in a later window), `@timestamp` for a retro-hunt over data already ingested."""

    start: datetime
    end: datetime
    field: TimeField = "event.ingested"

    def range_filter(self) -> dict[str, object]:
        return {"range": {self.field: {"gte": self.start.isoformat(), "lt": self.end.isoformat()}}}


def plan_windows(
    checkpoint: datetime | None,
    now: datetime,
    *,
    delay: timedelta,
    initial_lookback: timedelta,
    max_window: timedelta,
    max_windows: int,
) -> list[Window]:
    """Consecutive windows from the checkpoint; empty when nothing new can be searched yet."""
    limit = now - delay
    start = checkpoint if checkpoint is not None else limit - initial_lookback
    windows: list[Window] = []
    while start < limit and len(windows) < max_windows:
        end = min(start + max_window, limit)
        windows.append(Window(start, end))
        start = end
    return windows


def is_due(last_run: datetime | None, now: datetime, interval: timedelta) -> bool:
    return last_run is None or now - last_run >= interval
