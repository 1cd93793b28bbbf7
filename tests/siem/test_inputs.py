"""File tail (offsets, restart, rotation, truncation, multi-line tracebacks) and the logging handler."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from fastapi.testclient import TestClient

from siem import Pipeline
from siem.http import create_router
from siem.inputs.loghandler import VigilHandler, http_sender
from siem.inputs.tail import FileTail
from tests.siem.conftest import count_docs, nginx_line
from vigil.problems import install_error_answers

pytestmark = pytest.mark.integration

TRACEBACK = [
    "2026-11-29 05:01:02,345 ERROR [payments] charge failed",
    "Traceback (most recent call last):",
    '  File "/srv/app/pay.py", line 12, in charge',
    "    gateway.charge(amount)",
    "gateway.GatewayError: card declined",
]


def write(path: Path, lines: list[str], mode: str = "a") -> None:
    with path.open(mode, encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)


def tail(pipeline: Pipeline, path: Path, tmp_path: Path, fmt: str = "nginx", **kwargs) -> FileTail:
    return FileTail(pipeline, path, fmt, tmp_path / "state", **kwargs)  # type: ignore[arg-type]


def test_restart_neither_skips_nor_repeats(pipeline: Pipeline, es: Elasticsearch, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    write(log, [nginx_line(n) for n in range(10)])
    assert tail(pipeline, log, tmp_path).run().records == 10
    assert tail(pipeline, log, tmp_path).run().records == 0
    write(log, [nginx_line(n) for n in range(10, 15)])
    log.open("a").write(nginx_line(99))  # a line still being written is left for later ...
    assert tail(pipeline, log, tmp_path).run(follow=True, should_stop=lambda: True).records == 5
    log.open("a").write("\n")  # ... and read once complete
    assert tail(pipeline, log, tmp_path).run().records == 1
    pipeline.drain()
    assert count_docs(es, pipeline.layout.alias) == 16


def test_lost_offset_rereads_without_duplicating(pipeline: Pipeline, es: Elasticsearch, tmp_path: Path) -> None:
    """A crash between the push and the offset save re-sends records under the same ids: 409, not a copy."""
    log = tmp_path / "access.log"
    write(log, [nginx_line(n) for n in range(20)])
    first = tail(pipeline, log, tmp_path)
    first.run()
    first.state_file.unlink()
    assert tail(pipeline, log, tmp_path).run().records == 20
    report = pipeline.drain()
    assert report.duplicates == 20
    assert count_docs(es, pipeline.layout.alias) == 20


def test_rotation_by_rename_is_followed_after_a_restart(pipeline: Pipeline, es: Elasticsearch, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    write(log, [nginx_line(n) for n in range(5)])
    tail(pipeline, log, tmp_path).run()
    write(log, [nginx_line(n) for n in range(5, 7)])  # written before the rotation, not yet read
    log.rename(tmp_path / "access.log.1")
    write(log, [nginx_line(n) for n in range(7, 10)], mode="w")
    report = tail(pipeline, log, tmp_path).run()
    assert (report.records, report.rotations) == (5, 1)
    pipeline.drain()
    assert count_docs(es, pipeline.layout.alias) == 10


def test_follow_handles_rotation_and_truncation_while_running(
    pipeline: Pipeline, es: Elasticsearch, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    write(log, [nginx_line(n) for n in range(3)])
    done: list[bool] = []

    def rotate() -> None:
        log.rename(tmp_path / "access.log.1")
        write(log, [nginx_line(n) for n in range(6, 8)], "w")

    def truncate() -> None:
        log.write_text("")
        write(log, [nginx_line(8)])

    steps = iter([lambda: write(log, [nginx_line(n) for n in range(3, 6)]), rotate, truncate])

    def sleep(_: float) -> None:
        step = next(steps, None)
        if step is None:
            done.append(True)
        else:
            step()

    report = tail(pipeline, log, tmp_path, sleep=sleep).run(follow=True, should_stop=lambda: bool(done))
    assert report.records == 9
    assert (report.rotations, report.truncations) == (1, 1)
    pipeline.drain()
    assert count_docs(es, pipeline.layout.alias) == 9


def test_python_tracebacks_are_joined_into_one_event_each(
    pipeline: Pipeline, es: Elasticsearch, tmp_path: Path
) -> None:
    log = tmp_path / "app.log"
    write(log, [*TRACEBACK, "2026-11-29 05:01:03,000 INFO [payments] not an error", *TRACEBACK])
    assert tail(pipeline, log, tmp_path, fmt="python").run().records == 3
    report = pipeline.drain()
    assert (report.indexed, report.dead_lettered) == (2, 1)  # the INFO line is no traceback: dead letter
    query = {"term": {"error.type": "gateway.GatewayError"}}
    assert count_docs(es, f"{pipeline.settings.namespace}-logs-exception-*", query) == 2


def test_missing_file_is_a_tail_error(pipeline: Pipeline, tmp_path: Path) -> None:
    from siem import TailError

    with pytest.raises(TailError, match="cannot read"):
        tail(pipeline, tmp_path / "nope.log", tmp_path).run()


def test_logging_handler_ships_exceptions_through_the_ingest_api(
    pipeline: Pipeline, es: Elasticsearch, edge_auth
) -> None:
    app = FastAPI()
    install_error_answers(app)
    app.include_router(create_router(edge_auth.guard, pipeline))
    client = TestClient(app)
    handler = VigilHandler(
        http_sender(client, lambda: edge_auth.token(["ingest:write"])), service="billing", interval=3600
    )
    logger = logging.getLogger(f"siem-test-{pipeline.settings.namespace}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        try:
            _ = {"present": 1}["missing"]
        except KeyError:
            logger.exception("lookup failed")
        logger.warning("below the handler level")
        handler.flush()
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert handler.dropped == 0
    pipeline.drain()
    hits = es.search(index=f"{pipeline.settings.namespace}-logs-exception-*")["hits"]["hits"]
    assert len(hits) == 1
    source = hits[0]["_source"]
    assert source["error"]["type"] == "KeyError"
    assert "Traceback (most recent call last)" in source["error"]["stack_trace"]
    assert source["service"]["name"] == "billing"
    assert source["message"] == "lookup failed"
