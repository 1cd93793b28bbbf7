"""Real shippers into Vigil: a real nginx access log and an exception log, shipped by rsyslog (Debian package, our
own process and configuration) through its Elasticsearch output, every line indexed exactly once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from siem import Pipeline
from tests.siem.conftest import count_docs, served
from tests.siem.shippers import VIGIL_DOC, nginx_access_log, omelasticsearch_ruleset, rsyslog, wait_until
from tests.siem.test_bulkapi import vigil_app

pytestmark = pytest.mark.integration

LINES = 150

INPUTS = """
module(load="imfile")
module(load="omelasticsearch")
input(type="imfile" file="{log}" tag="nginx" ruleset="access")
input(type="imfile" file="{exceptions}" tag="billing" ruleset="errors")
"""
EXCEPTIONS = 40


def _paths(es: Elasticsearch, index: str) -> list[str]:
    hits = es.search(index=index, size=LINES * 2, source_includes=["url.path"], query={"match_all": {}})["hits"]["hits"]
    return sorted(h["_source"]["url"]["path"] for h in hits)


def test_rsyslog_omelasticsearch_ships_a_real_nginx_log_once(
    pipeline: Pipeline, edge_auth: Any, es: Elasticsearch, tmp_path: Path
) -> None:
    token = edge_auth.token(["ingest:write"], client_id="rsyslog")
    exceptions = tmp_path / "exceptions.log"
    exceptions.write_text(
        "".join(
            json.dumps(
                {"service": "billing", "request_id": f"req-{n}", "error": {"type": "KeyError", "message": f"no {n}"}}
            )
            + "\n"
            for n in range(EXCEPTIONS)
        ),
        encoding="utf-8",
    )
    with nginx_access_log(tmp_path / "nginx", LINES) as log:
        lines = log.read_text(encoding="utf-8").splitlines()
        assert len(lines) == LINES
        with served(vigil_app(edge_auth, pipeline)) as url:
            port = url.rsplit(":", 1)[1]
            errors, refused = tmp_path / "rsyslog-errors.json", tmp_path / "refused.log"
            shipping = {"port": port, "token": token, "refused": refused, "errors": errors}
            config = (
                INPUTS.format(log=log, exceptions=exceptions)
                + VIGIL_DOC
                + omelasticsearch_ruleset("access", "access", **shipping)
                + omelasticsearch_ruleset("errors", "exception", **shipping)
            )
            total = LINES + EXCEPTIONS
            with rsyslog(tmp_path / "rsyslog", config):
                wait_until(lambda: pipeline.stream.stats().get("received", 0) >= total, 60, "rsyslog's bulk requests")
            assert not errors.exists(), errors.read_text(encoding="utf-8")
            assert not refused.exists(), refused.read_text(encoding="utf-8")
    pipeline.drain()
    assert pipeline.stream.stats()["received"] == LINES + EXCEPTIONS
    assert count_docs(es, pipeline.layout.dataset_pattern("access")) == LINES
    expected = sorted(f"/{('ok', 'missing', 'fail')[n % 3]}/{n}" for n in range(LINES))
    assert _paths(es, pipeline.layout.dataset_pattern("access")) == expected
    assert count_docs(es, pipeline.layout.dataset_pattern("exception")) == EXCEPTIONS
    assert count_docs(es, pipeline.layout.alias, {"term": {"http.request.id": "req-7"}}) == 1
    statuses = es.search(
        index=pipeline.layout.alias, size=0, aggs={"s": {"terms": {"field": "http.response.status_code"}}}
    )["aggregations"]["s"]["buckets"]
    assert {b["key"]: b["doc_count"] for b in statuses} == {200: 50, 404: 50, 503: 50}
