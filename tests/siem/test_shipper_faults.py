"""Real shippers under faults: rsyslog ships a real nginx access log and an exception log while the ingest app
answers 429 (rsyslog's own retry must recover), and while the worker is SIGKILLed mid-way and restarted (through
both the bulk door and the syslog door); every line is indexed exactly once."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from siem import Pipeline
from tests.siem.conftest import count_docs, served
from tests.siem.shippers import (
    VIGIL_DOC,
    exception_log,
    nginx_access_log,
    omelasticsearch_ruleset,
    rsyslog,
    slow_worker,
    wait_until,
)
from tests.siem.test_bulkapi import vigil_app
from tests.siem.test_faults import start_worker, stop_group, wait_for
from tests.siem.test_syslog import receiving

pytestmark = pytest.mark.integration

INPUTS = """
module(load="imfile")
module(load="omelasticsearch")
input(type="imfile" file="{access}" tag="nginx" facility="local7" severity="info" ruleset="{access_ruleset}")
input(type="imfile" file="{exceptions}" tag="billing" facility="local0" severity="err" ruleset="{exception_ruleset}")
"""


def per_client(es: Elasticsearch, pipeline: Pipeline, dataset: str) -> dict[str, int]:
    es.indices.refresh(index=pipeline.layout.dataset_pattern(dataset))
    buckets = es.search(
        index=pipeline.layout.dataset_pattern(dataset),
        size=0,
        aggs={"c": {"terms": {"field": "vigil.ingest.client"}}},
    )["aggregations"]["c"]["buckets"]
    return {b["key"]: b["doc_count"] for b in buckets}


def distinct(es: Elasticsearch, pipeline: Pipeline, dataset: str, field: str) -> int:
    found = es.search(
        index=pipeline.layout.dataset_pattern(dataset), size=0, aggs={"d": {"cardinality": {"field": field}}}
    )
    return int(found["aggregations"]["d"]["value"])


def test_rsyslog_retries_what_a_full_queue_refused_and_ships_every_line_once(
    make_pipeline: Callable[..., Pipeline], edge_auth: Any, es: Elasticsearch, tmp_path: Path
) -> None:
    pipeline = make_pipeline(high_water_mark=300, chunk_records=20, batch_max_events=40)
    token = edge_auth.token(["ingest:write"], client_id="rsyslog")
    exceptions = exception_log(tmp_path / "exceptions.log", 120)
    refused, errors = tmp_path / "refused.log", tmp_path / "errors.json"
    with nginx_access_log(tmp_path / "nginx", 600) as access, served(vigil_app(edge_auth, pipeline)) as url:
        shipping = {"port": url.rsplit(":", 1)[1], "token": token, "refused": refused, "errors": errors}
        config = (
            INPUTS.format(access=access, exceptions=exceptions, access_ruleset="access", exception_ruleset="errors")
            + VIGIL_DOC
            + omelasticsearch_ruleset("access", "access", **shipping)
            + omelasticsearch_ruleset("errors", "exception", **shipping)
        )
        with slow_worker(pipeline), rsyslog(tmp_path / "rsyslog", config):
            wait_until(lambda: pipeline.stream.stats().get("received", 0) >= 720, 120, "every line queued")
    assert pipeline.stream.stats().get("rejected", 0) > 0  # the queue really refused, and rsyslog re-sent
    assert not refused.exists(), refused.read_text(encoding="utf-8")
    assert not errors.exists(), errors.read_text(encoding="utf-8")
    pipeline.drain()
    assert pipeline.stream.stats()["received"] == 720
    assert count_docs(es, pipeline.layout.dataset_pattern("access")) == 600
    assert distinct(es, pipeline, "access", "url.path") == 600
    assert count_docs(es, pipeline.layout.dataset_pattern("exception")) == 120
    assert distinct(es, pipeline, "exception", "http.request.id") == 120
    assert per_client(es, pipeline, "access") == {"rsyslog": 600}
    statuses = es.search(
        index=pipeline.layout.alias, size=0, aggs={"s": {"terms": {"field": "http.response.status_code"}}}
    )["aggregations"]["s"]["buckets"]
    assert {b["key"]: b["doc_count"] for b in statuses} == {200: 200, 404: 200, 503: 200}


FORWARD = """
ruleset(name="forward") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" tcp_framing="octet-counted"
         template="RSYSLOG_SyslogProtocol23Format" action.resumeRetryCount="-1" action.resumeInterval="1")
}}
ruleset(name="access-in") {{
  call forward
  call access
}}
ruleset(name="errors-in") {{
  call forward
  call errors
}}
"""


def test_a_worker_killed_mid_way_loses_and_repeats_nothing_from_either_door(
    make_pipeline: Callable[..., Pipeline], edge_auth: Any, es: Elasticsearch, tmp_path: Path
) -> None:
    """rsyslog ships each line twice, through omelasticsearch into the bulk door and through omfwd into the syslog
    door; the worker is SIGKILLed with entries delivered and not acked, then restarted."""
    lines, failures = 600, 150
    pipeline = make_pipeline(chunk_records=100)
    token = edge_auth.token(["ingest:write"], client_id="rsyslog")
    exceptions = exception_log(tmp_path / "exceptions.log", failures)
    refused, errors = tmp_path / "refused.log", tmp_path / "errors.json"
    worker = start_worker(pipeline.settings.namespace, tmp_path)
    try:
        with (
            nginx_access_log(tmp_path / "nginx", lines) as access,
            served(vigil_app(edge_auth, pipeline)) as url,
            receiving(pipeline) as syslog,
        ):
            shipping = {"port": url.rsplit(":", 1)[1], "token": token, "refused": refused, "errors": errors}
            config = (
                INPUTS.format(
                    access=access, exceptions=exceptions, access_ruleset="access-in", exception_ruleset="errors-in"
                )
                + VIGIL_DOC
                + omelasticsearch_ruleset("access", "access", **shipping)
                + omelasticsearch_ruleset("errors", "exception", **shipping)
                + FORWARD.format(port=syslog.port)
            )
            with rsyslog(tmp_path / "rsyslog", config):
                # Mid-way: entries delivered and not acked, some events already indexed, more still to come.
                wait_for(
                    lambda: pipeline.stream.pending() > 0 and pipeline.stream.stats().get("indexed", 0) > 0,
                    "a batch in flight after the first indexed one",
                    every=0.01,
                )
                stop_group(worker, signal.SIGKILL)
                killed_at = pipeline.stream.stats().get("indexed", 0)
                worker = start_worker(pipeline.settings.namespace, tmp_path)
                total = 2 * (lines + failures)
                wait_until(lambda: pipeline.stream.stats().get("received", 0) >= total, 120, "every line queued")
        wait_for(lambda: pipeline.stream.depth() == 0, "the restarted worker to drain the queue")
    finally:
        stop_group(worker, signal.SIGTERM)
    assert 0 < killed_at < total
    assert not refused.exists(), refused.read_text(encoding="utf-8")
    assert not errors.exists(), errors.read_text(encoding="utf-8")
    assert pipeline.stream.pending() == 0
    assert pipeline.stream.stats()["received"] == total
    assert per_client(es, pipeline, "access") == {"rsyslog": lines, "syslog": lines}
    assert per_client(es, pipeline, "exception") == {"rsyslog": failures, "syslog": failures}
    assert distinct(es, pipeline, "access", "url.path") == lines
    assert distinct(es, pipeline, "exception", "http.request.id") == failures
