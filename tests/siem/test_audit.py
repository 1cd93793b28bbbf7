"""The `audit` dataset: audit events through the real stream and workers, under their deterministic ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from edgeauth import AuditEvent
from siem import AuditRecordSink, ParseError, Pipeline, parse_record

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
