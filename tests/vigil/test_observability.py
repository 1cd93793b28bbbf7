from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from vigil.observability import RequestIdMiddleware, configure_logging, request_id
from vigil.settings import load_settings
from vigil.worker import create_celery


@pytest.fixture(autouse=True)
def root_logger() -> Iterator[None]:
    """`configure_logging` binds the root logger to this test's captured stderr: put the old one back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(RequestIdMiddleware)

    @app.get("/rid")
    def rid() -> dict[str, str]:
        return {"rid": request_id.get()}

    return app


def test_a_well_formed_request_id_is_kept() -> None:
    client = TestClient(_app())
    response = client.get("/rid", headers={"X-Request-ID": "abc123def456"})
    assert response.json() == {"rid": "abc123def456"}
    assert response.headers["x-request-id"] == "abc123def456"


@given(st.text(min_size=1, max_size=300).filter(lambda s: s.isprintable() and s.strip() == s))
def test_a_hostile_request_id_is_replaced(value: str) -> None:
    client = TestClient(_app())
    try:
        response = client.get("/rid", headers={"X-Request-ID": value})
    except UnicodeEncodeError:
        return  # not sendable as an HTTP header at all
    rid = response.json()["rid"]
    assert response.status_code == 200
    assert len(rid) <= 64
    assert rid == value or len(rid) == 32


def test_logs_are_json_with_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    token = request_id.set("req-00000001")
    try:
        logging.getLogger("vigil.test").info("hello %s", "world")
    finally:
        request_id.reset(token)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "hello world"
    assert record["request_id"] == "req-00000001"
    assert record["log.level"] == "INFO"


def test_the_celery_worker_logs_json(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_celery(load_settings())
    # What `celery worker` does first: set up logging, which hands over to our receiver.
    app.log.already_setup = False
    app.log.setup_logging_subsystem(loglevel="INFO")
    logging.getLogger("celery.worker.consumer").info("Connected to %s", "redis://")
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["message"] == "Connected to redis://"
    assert record["log.logger"] == "celery.worker.consumer"
    assert record["log.level"] == "INFO"
