"""Celery adapter: the detection cycle as a beat task, registered on the app the composition root creates.

The task calls the plain `Detections.run_cycle`; the service is built lazily once per worker process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

from detections.service import Detections

CYCLE_TASK = "detections.cycle"
# Hunts run on the default queue: a long hunt must never sit on the cycle queue in front of a due cycle.
HUNT_TASK = "detections.hunt"
# Cycles have their own queue, consumed by a worker node of their own (`vigil worker` starts one), so no ingest
# backlog or long task on the default queue can hold a cycle past its interval.
CYCLE_QUEUE = "detections"


def register_tasks(celery_app: Any, factory: Callable[[], Detections], *, every: float) -> None:
    """Register `detections.cycle` with a beat entry every `every` seconds (rules run when their interval is due),
    and `detections.hunt`, which runs one stored retro-hunt job by id.

    The cycle holds a Redis lock, so overlapping ticks on several workers never run the same windows twice.
    """
    service = cache(factory)

    @celery_app.task(name=CYCLE_TASK, shared=False, ignore_result=True, queue=CYCLE_QUEUE)  # type: ignore[untyped-decorator]
    def cycle() -> dict[str, Any]:
        report = service().run_cycle()
        return {
            "skipped": report.skipped,
            "runs": len(report.runs),
            "errors": len(report.errors),
            "alerts_changed": report.alerts_changed,
        }

    @celery_app.task(name=HUNT_TASK, shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def hunt(job_id: str) -> dict[str, Any]:
        job = service().run_hunt_job(job_id)
        return {"id": job.id, "status": job.status, "windows": job.windows_done}

    celery_app.conf.task_routes = {**(celery_app.conf.task_routes or {}), CYCLE_TASK: {"queue": CYCLE_QUEUE}}
    celery_app.conf.beat_schedule = {
        **(celery_app.conf.beat_schedule or {}),
        # a tick not started within `every` is dropped: the next one runs the same due rules from their checkpoints
        "detections-cycle": {
            "task": CYCLE_TASK,
            "schedule": timedelta(seconds=every),
            "options": {"expires": every, "queue": CYCLE_QUEUE},
        },
    }
