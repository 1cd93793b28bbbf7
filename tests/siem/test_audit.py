"""The `audit` dataset: audit events through the real stream and workers, under their deterministic ids."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from edgeauth import AuditEvent
from siem import AuditRecordSink, ParseError, Pipeline, Retention, parse_record

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def scopes_widened() -> AuditEvent:
    return AuditEvent(
        timestamp=AT,
        provider="edgeauth",
        action="client-updated",
        category="iam",
        actor="ops",
        target="client:billing",
        before={"scopes": ["alerts:read"]},
        after={"scopes": ["alerts:read", "rules:admin"]},
    )


def test_audit_events_are_indexed_once_as_ecs(pipeline: Pipeline, es: Elasticsearch) -> None:
    sink = AuditRecordSink(pipeline)
    sink.emit([scopes_widened()])
    sink.emit([scopes_widened()])  # a retried flush: the same document, not a second one
    report = pipeline.drain()
    assert (report.indexed, report.duplicates, report.dead_lettered) == (1, 1, 0)
    hits = es.search(index=f"{pipeline.settings.namespace}-logs-audit-*", query={"match_all": {}})["hits"]["hits"]
    assert len(hits) == 1
    doc = hits[0]["_source"]
    assert hits[0]["_id"] == scopes_widened().id
    assert doc["event"]["kind"] == "event"
    assert doc["event"]["category"] == ["iam"]
    assert (doc["event"]["action"], doc["event"]["provider"]) == ("client-updated", "edgeauth")
    assert doc["user"]["name"] == "ops"
    assert doc["vigil"]["audit"]["added"] == ["rules:admin"]
    assert json.loads(doc["vigil"]["audit"]["before"]) == {"scopes": ["alerts:read"]}
    assert doc["vigil"]["ingest"]["client"] == "vigil-audit"
    found = es.search(index=pipeline.layout.alias, query={"term": {"vigil.audit.added": "rules:admin"}}, size=1)[
        "hits"
    ]["total"]["value"]
    assert found == 1


def test_a_malformed_audit_record_names_its_field() -> None:
    with pytest.raises(ParseError, match="audit record field category"):
        parse_record(
            "audit",
            '{"timestamp": "2026-12-01T12:00:00Z", "provider": "x", "action": "a", "category": "net", "target": "t"}',
            event_id="e",
            received=AT,
        )


def test_retention_deletions_reach_the_audit_dataset(make_pipeline: Any, es: Elasticsearch) -> None:
    pipeline = make_pipeline(retention_days=7)
    old = f"{pipeline.settings.namespace}-logs-access-2026.09.01"
    es.index(index=old, document={"@timestamp": "2026-09-01T00:00:00Z"}, refresh=True)
    Retention(es, pipeline.layout, AuditRecordSink(pipeline)).apply(today=date(2026, 11, 29))
    pipeline.drain()
    (hit,) = es.search(index=f"{pipeline.settings.namespace}-logs-audit-*", query={"match_all": {}})["hits"]["hits"]
    doc = hit["_source"]
    assert (doc["event"]["action"], doc["event"]["type"]) == ("index-deleted", ["deletion"])
    assert doc["vigil"]["audit"]["retention_days"] == 7
    assert doc["vigil"]["audit"]["trigger"] == "policy"
    assert doc["vigil"]["audit"]["target"] == f"index:{old}"
    # siem's own deletion log keeps the record as before
    assert [d.index for d in Retention(es, pipeline.layout).log()] == [old]
