"""The queue and the workers against the real Redis and Elasticsearch: exactly once, dead letters, backpressure."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from edgeauth import DecisionEvent
from siem import BackpressureError, DeadLetterStore, Pipeline, UnknownDatasetError
from siem.deadletter import dead_letter_doc
from siem.inputs.decisions import AuthDecisionSink
from siem.stream import Entry
from tests.siem.conftest import count_docs, nginx_line

pytestmark = pytest.mark.integration


def test_pushed_records_are_indexed_once_and_searchable_through_the_alias(
    pipeline: Pipeline, es: Elasticsearch
) -> None:
    receipt = pipeline.push("nginx", [nginx_line(n) for n in range(230)])
    assert receipt.accepted == 230
    assert len(receipt.entries) == 5  # 50 records per stream entry
    report = pipeline.drain()
    assert (report.indexed, report.duplicates, report.dead_lettered) == (230, 0, 0)
    assert count_docs(es, pipeline.layout.alias) == 230
    assert count_docs(es, f"{pipeline.settings.namespace}-logs-access-2026.11.29") == 230
    assert pipeline.stream.depth() == 0
    assert pipeline.stream.pending() == 0
    stats = pipeline.stream.stats()
    assert (stats["received"], stats["indexed"]) == (230, 230)


def test_reprocessing_the_same_entries_never_duplicates(pipeline: Pipeline, es: Elasticsearch) -> None:
    pipeline.push("nginx", [nginx_line(n) for n in range(120)])
    entries = pipeline.stream.read("worker-a", count=100, block_ms=None)
    first = pipeline.process(entries)
    again = pipeline.process(entries)  # a redelivery after a crash between bulk and ack
    assert (first.indexed, first.duplicates) == (120, 0)
    assert (again.indexed, again.duplicates) == (0, 120)
    assert count_docs(es, pipeline.layout.alias) == 120
    assert pipeline.stream.depth() == 0


def test_entries_of_a_dead_consumer_are_reclaimed_and_indexed_once(make_pipeline, es: Elasticsearch) -> None:
    pipeline = make_pipeline(chunk_records=10, claim_idle_ms=100)
    pipeline.push("nginx", [nginx_line(n) for n in range(40)])
    abandoned = pipeline.stream.read("crashed-worker", count=2, block_ms=None)
    assert len(abandoned) == 2
    time.sleep(0.3)  # let the abandoned entries pass claim_idle_ms
    report = pipeline.drain("survivor")
    assert report.reclaimed == 2
    assert report.indexed == 40
    assert count_docs(es, pipeline.layout.alias) == 40
    assert pipeline.stream.pending() == 0


def test_an_entry_delivered_too_often_goes_to_the_dead_letter(make_pipeline, es: Elasticsearch) -> None:
    pipeline = make_pipeline(chunk_records=10, claim_idle_ms=100, max_deliveries=1)
    pipeline.push("nginx", [nginx_line(n) for n in range(10)])
    assert len(pipeline.stream.read("crashed-worker", count=1, block_ms=None)) == 1
    time.sleep(0.3)
    report = pipeline.drain("survivor")
    assert (report.indexed, report.dead_lettered) == (0, 10)
    letters = DeadLetterStore(es, pipeline.layout).list()
    assert len(letters) == 10
    assert {d.error_type for d in letters} == {"max_deliveries"}
    assert {d.deliveries for d in letters} == {2}
    assert count_docs(es, pipeline.layout.alias) == 0


def test_unparseable_and_unmappable_records_go_to_the_dead_letter_with_raw_text(
    pipeline: Pipeline, es: Elasticsearch
) -> None:
    records = [
        "garbage line",
        '{"method": "GET", "path": "/", "status": 200, "bytes": 99999999999999999999999}',
        nginx_line(1),
        "\udcff not utf-8 after surrogateescape",
    ]
    pipeline.push("nginx", records)
    report = pipeline.drain()
    assert (report.indexed, report.dead_lettered) == (1, 3)
    letters = {d.original: d for d in DeadLetterStore(es, pipeline.layout).list()}
    assert letters["garbage line"].error_type == "parse_error"
    assert letters[records[1]].error_type == "mapping_error"
    assert "document_parsing_exception" in letters[records[1]].error_message
    assert pipeline.stream.pending() == 0


def test_above_the_high_water_mark_a_batch_is_refused_whole(make_pipeline) -> None:
    pipeline = make_pipeline(high_water_mark=100, chunk_records=10)
    pipeline.push("nginx", [nginx_line(n) for n in range(80)])
    with pytest.raises(BackpressureError) as refused:
        pipeline.push("nginx", [nginx_line(n) for n in range(30)])
    assert refused.value.retry_after == pipeline.settings.retry_after_seconds
    assert pipeline.stream.depth() == 80
    pipeline.drain()
    assert pipeline.stream.depth() == 0
    assert pipeline.push("nginx", [nginx_line(n) for n in range(30)]).accepted == 30
    assert pipeline.stream.stats()["rejected"] == 30


def test_unknown_format_is_refused(pipeline: Pipeline) -> None:
    with pytest.raises(UnknownDatasetError, match="unknown record format 'netflow'"):
        pipeline.push("netflow", ["x"])


def test_replay_requeues_dead_letters_under_their_own_id_once(pipeline: Pipeline, es: Elasticsearch) -> None:
    """A dead letter whose record parses now (after a parser fix) is indexed once however often it is replayed."""
    received = datetime.now(UTC)
    entry = Entry("1-0", "nginx", "api", [nginx_line(7)], None)
    letter = dead_letter_doc(pipeline.layout, entry, nginx_line(7), "fixed-1", received, "parse_error", "old bug")
    es.index(index=letter.index, id=letter.doc_id, document=letter.body, refresh=True)
    store = DeadLetterStore(es, pipeline.layout)
    assert [d.id for d in store.list()] == ["fixed-1"]
    assert store.replay(pipeline.push) == 1
    assert store.list() == []
    assert store.list(include_replayed=True)[0].replayed
    pipeline.drain()
    es.update(index=letter.index, id="fixed-1", doc={"vigil": {"deadletter": {"replayed": False}}}, refresh=True)
    assert store.replay(pipeline.push, ["fixed-1"]) == 1
    report = pipeline.drain()
    assert report.duplicates == 1
    hits = es.search(index=pipeline.layout.alias, query={"term": {"event.id": "fixed-1"}})["hits"]["hits"]
    assert len(hits) == 1


def test_caseless_subfields_match_whatever_the_case(pipeline: Pipeline, es: Elasticsearch) -> None:
    pipeline.push(
        "nginx", ['10.0.0.1 - Admin [29/Nov/2026:05:00:00 +0000] "GET /Admin HTTP/1.1" 200 1 "-" "SQLMap/1.7"']
    )
    pipeline.drain()
    for field, value in (("user_agent.original.caseless", "sqlmap/1.7"), ("user.name.caseless", "admin")):
        assert count_docs(es, pipeline.layout.alias, {"term": {field: value}}) == 1
    assert count_docs(es, pipeline.layout.alias, {"term": {"user_agent.original": "sqlmap/1.7"}}) == 0
    mapping = es.indices.get_mapping(index=pipeline.layout.alias).body
    properties = next(iter(mapping.values()))["mappings"]["properties"]
    assert properties["source"]["properties"]["ip"]["type"] == "ip"
    assert properties["http"]["properties"]["response"]["properties"]["status_code"]["type"] == "long"


def test_auth_decisions_arrive_as_authentication_events(pipeline: Pipeline, es: Elasticsearch) -> None:
    sink = AuthDecisionSink(pipeline)
    sink.emit(
        [
            DecisionEvent(
                timestamp=datetime(2026, 11, 29, 5, 0, tzinfo=UTC),
                outcome="failure",
                reason="expired",
                subject="svc-1",
                client_id="c-1",
                scopes=("ingest:write",),
                source_ip="192.0.2.1",
                path="/ingest/access",
                method="POST",
                latency_us=40,
            )
        ]
    )
    pipeline.drain()
    hits = es.search(index=f"{pipeline.settings.namespace}-logs-auth-*", query={"match_all": {}})["hits"]["hits"]
    assert len(hits) == 1
    source = hits[0]["_source"]
    assert source["event"]["category"] == ["authentication"]
    assert (source["event"]["outcome"], source["event"]["reason"]) == ("failure", "expired")
    assert source["vigil"]["auth"]["scopes"] == ["ingest:write"]
    assert json.loads(source["event"]["original"])["client_id"] == "c-1"
