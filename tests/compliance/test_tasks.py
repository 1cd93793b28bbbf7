"""The Celery hook: the beat entry exists and the task runs a real collection and evaluation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from celery import Celery
from elasticsearch import Elasticsearch

from compliance import Compliance, ComplianceSettings, Period
from compliance.tasks import CYCLE_TASK, register_tasks
from evidence import EvidenceLocker
from vigil.settings import VigilSettings

pytestmark = pytest.mark.integration


def test_cycle_task_collects_evaluates_and_is_scheduled(
    es: Elasticsearch,
    locker: EvidenceLocker,
    es_namespace: str,
    settings: VigilSettings,
    apply_indices: Callable[..., None],
) -> None:
    apply_indices(es_namespace, "compliance")
    service = Compliance(ComplianceSettings(namespace=es_namespace, scope=("A.8.32",)), es, locker)
    app = Celery("compliance-test", broker=settings.redis_url.get_secret_value())
    register_tasks(app, lambda: service, every=900)
    assert app.conf.beat_schedule[CYCLE_TASK]["task"] == CYCLE_TASK
    assert app.conf.beat_schedule[CYCLE_TASK]["schedule"].total_seconds() == 900

    result = app.tasks[CYCLE_TASK].apply().get()
    assert result["collected"] == ["compliance.config"]
    assert result["failing"] == []
    latest = service.latest()
    assert latest is not None
    assert [c.control_id for c in latest.controls] == ["A.8.32"]
    assert service.history(Period(start=latest.period.start, end=latest.evaluated_at.replace(microsecond=999999)))
