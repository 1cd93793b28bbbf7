"""Celery adapter: the collection-and-status beat, registered on the app the composition root creates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from compliance.service import Compliance

CYCLE_TASK = "compliance.cycle"


def run_cycle(service: Compliance) -> dict[str, Any]:
    collected, update = service.cycle()
    return {
        "collected": [c.collector for c in collected.collected],
        "skipped": [c.collector for c in collected.skipped],
        "failed": [f"{c.collector}: {c.reason}" for c in collected.failed],
        "failing": [c.control_id for c in update.report.controls if c.outcome.value == "fail"],
        "newly_failing": list(update.newly_failing),
        "alerts_raised": update.alerts_raised,
    }


def register_tasks(celery_app: Any, build: Callable[[], Compliance], *, every: float) -> None:
    """Add `compliance.cycle` (collect, evaluate, store, alert) and its beat entry; `build` runs per task."""

    @celery_app.task(name=CYCLE_TASK, shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def cycle() -> dict[str, Any]:
        return run_cycle(build())

    celery_app.conf.beat_schedule = {
        **(celery_app.conf.beat_schedule or {}),
        CYCLE_TASK: {"task": CYCLE_TASK, "schedule": timedelta(seconds=every), "options": {"expires": every}},
    }
