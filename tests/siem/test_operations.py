"""Retention with its audit log, metrics and status, the Celery registration hook."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from celery import Celery
from elasticsearch import Elasticsearch
from prometheus_client import CollectorRegistry, generate_latest

from siem import Pipeline, PipelineCollector, Retention, pipeline_status
from siem.tasks import PUMP_TASK, RETENTION_TASK, register_tasks
from tests.siem.conftest import nginx_line

pytestmark = pytest.mark.integration


def test_retention_deletes_old_daily_indices_and_logs_each_deletion(pipeline: Pipeline, es: Elasticsearch) -> None:
    prefix = pipeline.settings.namespace
    old, kept = f"{prefix}-logs-access-2026.09.01", f"{prefix}-logs-auth-2026.11.20"
    old_dead = f"{prefix}-deadletter-2026.01.01"
    for index in (old, kept, old_dead):
        es.index(index=index, document={"@timestamp": "2026-01-01T00:00:00Z"}, refresh=True)
    retention = Retention(es, pipeline.layout)
    assert retention.policy() == {"logs_days": 30, "deadletter_days": 90}
    deletions = retention.apply(today=date(2026, 11, 29))
    assert sorted(d.index for d in deletions) == sorted([old, old_dead])
    assert not es.indices.exists(index=old)
    assert not es.indices.exists(index=old_dead)
    assert es.indices.exists(index=kept)
    log = retention.log(since=datetime(2026, 1, 1, tzinfo=UTC))
    assert {(d.index, d.docs) for d in log} == {(old, 1), (old_dead, 1)}
    assert {d.retention_days for d in log if d.index == old} == {30}
    assert retention.apply(today=date(2026, 11, 29)) == []


def test_status_and_metrics_report_the_shared_counters(pipeline: Pipeline) -> None:
    pipeline.push("nginx", [nginx_line(n) for n in range(30)] + ["junk"])
    queued = pipeline_status(pipeline)
    assert (queued.received, queued.queue_depth, queued.indexed) == (31, 31, 0)
    assert queued.oldest_pending_seconds >= 0
    pipeline.drain()
    done = pipeline_status(pipeline)
    assert (done.indexed, done.dead_lettered, done.queue_depth, done.pending_entries) == (30, 1, 0, 0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(pipeline))
    text = generate_latest(registry).decode()
    assert "vigil_siem_events_indexed_total 30.0" in text
    assert "vigil_siem_events_dead_lettered_total 1.0" in text
    assert "vigil_siem_queue_depth_events 0.0" in text
    assert "vigil_siem_queue_up 1.0" in text


def test_register_tasks_adds_tasks_and_beat_entries_next_to_existing_ones(make_pipeline, settings, redis_conn) -> None:
    pipeline = make_pipeline(pump_seconds=0.3)
    prefix = pipeline.settings.namespace

    def stale() -> Pipeline:
        raise AssertionError("a task registered on another app ran")

    # an app registered earlier in the same process (another test, a worker app): its tasks must stay its own
    register_tasks(Celery("earlier", set_as_current=False), stale)
    app = Celery("test", set_as_current=False, broker=settings.redis_url.get_secret_value())
    app.conf.broker_transport_options = {"global_keyprefix": f"{prefix}:celery:"}
    app.conf.beat_schedule = {"other-package": {"task": "other.task", "schedule": 60}}
    register_tasks(app, lambda: pipeline)
    assert {PUMP_TASK, RETENTION_TASK} <= set(app.tasks)
    assert not {PUMP_TASK, RETENTION_TASK} & set(Celery("later", set_as_current=False).tasks)
    assert set(app.conf.beat_schedule) == {"other-package", "siem-pump", "siem-retention"}
    pipeline.push("nginx", [nginx_line(1)])
    result = app.tasks[PUMP_TASK].run()
    assert result["indexed"] == 1
    assert redis_conn.llen(f"{prefix}:celery:celery") == 1  # the next pump of the chain is queued
