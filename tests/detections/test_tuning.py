"""Tuning through the real pipeline: Sigma meta-filters from the rule paths and analysts' exceptions.

The SigmaHQ rules are read in place from the shared corpus (never copied); filters live in a temporary folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from detections import AlertExceptionCreate, Detections, ExceptionCreate, QueryError
from tests.detections.conftest import Sender, alerts_of, api_client, later
from tests.detections.test_corpus import CORPUS

pytestmark = pytest.mark.integration

SQLI = "5513deaf-f49a-46c2-a6c8-3f111b5cb453"  # SigmaHQ "SQL Injection Strings In URI"
SCANNER = "ac205f40-caa4-4100-a77d-592b520fcf38"  # bundled "Vulnerability Scanner User Agent"
BURST = "c1e791f7-dfeb-461e-b203-aa6d59bd5a49"  # bundled correlation "Burst Of One Exception Type"
WEB_RULES = CORPUS / "rules" / "web"

SORT_FILTER = """title: Our search API sorts by column
id: 6b0f3f4e-8a55-4a43-9d8b-2f0d1f4f2a10
status: test
description: the public search API takes 'order by' in its query string
author: tests
date: 2026-12-01
logsource:
    category: webserver
filter:
    rules:
        - 5513deaf-f49a-46c2-a6c8-3f111b5cb453
    selection:
        cs-uri-stem: /api/search
        cs-uri-query|contains: 'order%20by%20created_at'
    condition: not selection
"""


def _request(ip: str, path: str, agent: str = "Mozilla/5.0") -> dict[str, Any]:
    return {"method": "GET", "path": path, "status": 200, "remote_ip": ip, "user_agent": agent}


def _ids(es: Elasticsearch, det: Detections, query: str) -> set[str]:
    response = es.search(
        index=det.settings.logs.dataset_pattern("access"),
        query={"query_string": {"query": query}},
        size=1000,
        source=False,
    )
    return {h["_id"] for h in response["hits"]["hits"]}


def test_a_filter_file_removes_exactly_the_events_it_names(
    tmp_path: Path, es: Elasticsearch, sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    (tmp_path / "sort.yml").write_text(SORT_FILTER)
    sender.send(
        "json",
        [
            _request("198.51.100.1", "/api/search?q=shoes&sort=order%20by%20created_at"),  # the benign search API
            _request("198.51.100.1", "/api/search?q=boots&sort=order%20by%20created_at%20desc"),
            _request("198.51.100.2", "/products?sort=order%20by%20created_at"),  # same words, another path
            _request("198.51.100.3", "/api/search?q=1%20UNION%20SELECT%20password"),  # the search API attacked
            _request("198.51.100.4", "/api/search?q=shoes"),  # no SQL at all
        ],
    )
    plain = make_detections(rule_paths=[WEB_RULES])
    tuned = make_detections(rule_paths=[WEB_RULES, tmp_path])
    rule = tuned.ruleset.rules[SQLI]
    assert [f.id for f in rule.info.filters] == ["6b0f3f4e-8a55-4a43-9d8b-2f0d1f4f2a10"]
    assert not [f for f in tuned.findings if f.code == "filter_unused"]
    unfiltered = _ids(es, plain, plain.ruleset.rules[SQLI].query or "")
    remaining = _ids(es, tuned, rule.query or "")
    removed = _ids(es, tuned, rule.suppressions[0].query)
    assert len(unfiltered) == 4
    assert len(removed) == 2
    assert remaining == unfiltered - removed  # exactly the named events, nothing else
    tuned.run_cycle(later())
    assert sorted(a.group_key for a in alerts_of(tuned, SQLI)) == ["source.ip=198.51.100.2", "source.ip=198.51.100.3"]
    [shown] = tuned.rule_filters(SQLI, tuned.run_history(SQLI))
    assert shown.suppressed == 2
    assert shown.kind == "file"
    assert shown.author == "tests"


def test_a_filter_naming_no_rule_is_a_warning(tmp_path: Path, make_detections: Callable[..., Detections]) -> None:
    (tmp_path / "typo.yml").write_text(SORT_FILTER.replace("5513deaf-f49a-46c2-a6c8-3f111b5cb453", "no-such-rule"))
    det = make_detections(rule_paths=[tmp_path])
    [finding] = [f for f in det.findings if f.code == "filter_unused"]
    assert finding.severity == "warning"
    assert "no-such-rule" in finding.message


def _scanner_hits(det: Detections) -> int:
    report = det.run_cycle(later(), force=True)
    return sum(r.hits for r in report.runs if r.rule_id == SCANNER)


def test_exception_from_an_alert_suppresses_until_deleted_or_expired(
    es: Elasticsearch, sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    det = make_detections(exceptions_refresh_seconds=0)
    sender.send("json", [_request("10.0.0.9", "/", "sqlmap/1.7")])
    assert _scanner_hits(det) == 1
    [alert] = alerts_of(det, SCANNER)
    exception = det.exception_from_alert(alert.id, AlertExceptionCreate(reason="our own weekly scan"), "ana")
    assert exception.match == {"source.ip": ["10.0.0.9"]}
    assert "condition: not selection" in exception.sigma
    assert SCANNER in exception.sigma
    # another replica (a worker) picks the exception up from Elasticsearch
    worker = make_detections(exceptions_refresh_seconds=0)
    sender.send("json", [_request("10.0.0.9", "/admin", "sqlmap/1.7"), _request("10.0.0.7", "/", "sqlmap/1.7")])
    assert _scanner_hits(worker) == 1  # only 10.0.0.7
    assert {a.group_key for a in alerts_of(worker, SCANNER)} == {"source.ip=10.0.0.9", "source.ip=10.0.0.7"}
    assert [f.kind for f in worker.rule(SCANNER).filters] == ["exception"]
    [shown] = worker.rule_filters(SCANNER, worker.run_history(SCANNER))
    assert shown.suppressed == 1
    assert shown.reason == "our own weekly scan"

    det.delete_exception(exception.id, "bob")
    assert det.exceptions(SCANNER)[0].deleted_by == "bob"
    sender.send("json", [_request("10.0.0.9", "/again", "sqlmap/1.7")])
    assert _scanner_hits(worker) == 1  # the deleted exception no longer suppresses
    assert worker.rule(SCANNER).filters == []

    expires = datetime.now(UTC) + timedelta(seconds=3)
    det.add_exception(
        ExceptionCreate(rule_id=SCANNER, reason="pentest window", expires=expires, match={"source.ip": ["10.0.0.7"]}),
        "ana",
    )
    sender.send("json", [_request("10.0.0.7", "/x", "sqlmap/1.7")])
    assert _scanner_hits(worker) == 0
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
    sender.send("json", [_request("10.0.0.7", "/y", "sqlmap/1.7")])
    assert _scanner_hits(worker) == 1  # expired: the matches are back

    audit = det.settings.index("detections-audit")
    es.indices.refresh(index=audit)
    actions = [
        (h["_source"]["action"], h["_source"]["actor"])
        for h in es.search(index=audit, query={"prefix": {"action": "exception"}}, sort=["@timestamp"], size=10)[
            "hits"
        ]["hits"]
    ]
    assert actions == [("exception_add", "ana"), ("exception_delete", "bob"), ("exception_add", "ana")]


def test_bad_exceptions_are_refused(make_detections: Callable[..., Detections]) -> None:
    det = make_detections()
    with pytest.raises(QueryError, match="no ECS mapping"):
        det.add_exception(ExceptionCreate(rule_id=SCANNER, reason="typo", match={"source.ipp": ["1.2.3.4"]}), "ana")
    with pytest.raises(QueryError, match="correlation"):
        det.add_exception(
            ExceptionCreate(
                rule_id="c1e791f7-dfeb-461e-b203-aa6d59bd5a49", reason="noisy", match={"error.type": ["X"]}
            ),
            "ana",
        )
    with pytest.raises(QueryError, match="future"):
        det.add_exception(
            ExceptionCreate(
                rule_id=SCANNER,
                reason="late",
                match={"source.ip": ["1.2.3.4"]},
                expires=datetime(2020, 1, 1, tzinfo=UTC),
            ),
            "ana",
        )
    assert det.exceptions() == []


def test_exceptions_api_scopes_and_errors(
    edge_auth, sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    det = make_detections(exceptions_refresh_seconds=0)
    sender.send("json", [_request("10.0.0.5", "/", "nikto")])
    det.run_cycle(later())
    [alert] = alerts_of(det, SCANNER)
    client = api_client(edge_auth.guard, det)
    admin = {"Authorization": f"Bearer {edge_auth.token(['rules:admin', 'alerts:read'], subject='root')}"}
    analyst = {"Authorization": f"Bearer {edge_auth.token(['alerts:read', 'alerts:triage'], subject='ana')}"}
    body = {"reason": "lab scanner", "fields": ["source.ip", "user_agent.original"]}
    assert client.post(f"/detections/alerts/{alert.id}/exceptions", json=body, headers=analyst).status_code == 403
    made = client.post(f"/detections/alerts/{alert.id}/exceptions", json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["match"] == {"source.ip": ["10.0.0.5"], "user_agent.original": ["nikto"]}
    listed = client.get("/detections/exceptions", params={"rule_id": SCANNER}, headers=analyst).json()
    assert [e["id"] for e in listed["exceptions"]] == [made.json()["id"]]
    detail = client.get(f"/detections/rules/{SCANNER}", headers=analyst).json()
    assert [f["id"] for f in detail["filters"]] == [made.json()["id"]]
    bad = client.post("/detections/exceptions", json={"rule_id": SCANNER, "reason": "x y", "match": {}}, headers=admin)
    assert bad.status_code == 422
    unknown = client.post(
        "/detections/exceptions", json={"rule_id": "nope", "reason": "x y", "match": {"a": ["b"]}}, headers=admin
    )
    assert unknown.status_code == 404
    missing = client.post(
        f"/detections/alerts/{alert.id}/exceptions", json={"reason": "abc", "fields": ["user.name"]}, headers=admin
    )
    assert missing.status_code == 400
    assert "user.name" in missing.json()["detail"]
    assert client.delete("/detections/exceptions/nope", headers=admin).status_code == 404
    assert client.delete(f"/detections/exceptions/{made.json()['id']}", headers=analyst).status_code == 403
    gone = client.delete(f"/detections/exceptions/{made.json()['id']}", headers=admin)
    assert gone.json()["deleted_by"] == "root"
