"""Fixtures of the detections tests: a real siem pipeline and a Detections service under a unique prefix."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from fastapi.testclient import TestClient

from detections import Alert, AlertFilter, Detections, DetectionsSettings, create_router
from detections.selftest.scratch import remove_prefix
from edgeauth import AuditSink, Guard
from siem import Pipeline, SiemSettings
from vigil.problems import install_error_answers


@pytest.fixture
def det_prefix(es: Elasticsearch, redis_conn: redis.Redis, namespace: str) -> Iterator[str]:
    yield namespace
    remove_prefix(es, redis_conn, namespace)


@pytest.fixture
def pipeline(
    es: Elasticsearch, redis_conn: redis.Redis, det_prefix: str, apply_indices: Callable[..., None]
) -> Pipeline:
    apply_indices(det_prefix, "siem")
    made = Pipeline(es, redis_conn, SiemSettings(namespace=det_prefix))
    made.setup()
    return made


@pytest.fixture
def make_detections(
    es: Elasticsearch, redis_conn: redis.Redis, det_prefix: str, apply_indices: Callable[..., None]
) -> Callable[..., Detections]:
    apply_indices(det_prefix, "detections")

    def make(audit: AuditSink | None = None, **overrides: Any) -> Detections:
        settings = DetectionsSettings(namespace=det_prefix, ingest_delay_seconds=0, **overrides)
        return Detections(settings, es, redis_conn, audit=audit)

    return make


class Sender:
    """Sends records through the real ingest (Redis Stream, worker drain) and stamps them."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def send(self, fmt: str, records: list[dict[str, Any]], *, at: datetime | None = None) -> None:
        stamp = (at or datetime.now(UTC)).isoformat()
        key = "timestamp" if fmt == "auth" else "@timestamp"
        lines = [json.dumps({key: stamp, **r}) for r in records]
        self.pipeline.push(fmt, lines)
        report = self.pipeline.drain()
        assert report.indexed == len(lines), report


@pytest.fixture
def sender(pipeline: Pipeline) -> Sender:
    return Sender(pipeline)


def later() -> datetime:
    """Now, after everything sent is searchable; never in the future, or the checkpoint would skip ahead."""
    return datetime.now(UTC) + timedelta(milliseconds=1)


def alerts_of(det: Detections, rule_id: str) -> list[Alert]:
    return det.alerts(AlertFilter(rule_id=rule_id, limit=500)).alerts


def api_client(guard: Guard, det: Detections) -> TestClient:
    """The analyst API alone on an app with the app's one error handler, as `create_app` mounts it."""
    app = FastAPI()
    install_error_answers(app)
    app.include_router(create_router(guard, det))
    return TestClient(app)
