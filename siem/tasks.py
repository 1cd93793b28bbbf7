"""Celery adapter: siem's tasks and beat entries, registered on an app the composition root creates.

Tasks call plain `Pipeline`/`Retention` methods; a pipeline is built lazily once per worker process (after the
prefork), never at import time. Tasks are registered with `shared=False`: a shared Celery task is added to every
app finalized later in the process, and its closure (this app's pipeline) would win over that app's own task.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

from edgeauth import AuditSink
from siem.pipeline import Pipeline
from siem.retention import Retention

PUMP_TASK = "siem.pump"
RETENTION_TASK = "siem.retention"


def register_tasks(
    celery_app: Any,
    pipeline_factory: Callable[[], Pipeline],
    *,
    audit: Callable[[], AuditSink] | None = None,
    pump_every: float = 1.0,
    retention_every: float = 3600,
) -> None:
    """Register `siem.pump` (drains the stream in bounded batches) and `siem.retention` with their beat entries.

    Several pump tasks run at once on a multi-process worker; each process is its own stream consumer.
    """
    pipeline = cache(pipeline_factory)

    @celery_app.task(name=PUMP_TASK, shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def pump() -> dict[str, Any]:
        current = pipeline()
        report = current.pump(current.settings.pump_seconds)
        # While there is work, hand over to the next pump at once so a process never idles until the next beat
        # tick; on an empty stream stop the chain (beat restarts one every `pump_every`), so idle pumps never keep
        # the pool busy re-queueing themselves. A surplus chain's task expires unstarted.
        if report.entries:
            pump.apply_async(expires=pump_every * 2)
        return report.model_dump()

    @celery_app.task(name=RETENTION_TASK, shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def retention() -> list[dict[str, Any]]:
        current = pipeline()
        retention = Retention(current.es, current.layout, audit() if audit is not None else None)
        return [d.model_dump(mode="json") for d in retention.apply()]

    celery_app.conf.beat_schedule = {
        **(celery_app.conf.beat_schedule or {}),
        "siem-pump": {"task": PUMP_TASK, "schedule": timedelta(seconds=pump_every), "options": {"expires": pump_every}},
        "siem-retention": {"task": RETENTION_TASK, "schedule": timedelta(seconds=retention_every)},
    }
