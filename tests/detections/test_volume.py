"""Every group gets its alert, with exact facts, at volume: 100,000 events in one group beside a single event in
another, and 20,000 distinct groups in one window for simple, correlation and new-terms rules.

Synthetic ECS documents are bulk-loaded into siem's templates (the path under test is the engine).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from detections import Detections
from siem import Pipeline
from tests.detections.conftest import alerts_of, later
from tests.detections.test_exact import es_count
from tests.detections.volume import SCANNER, access, auth, ip, load, recent, spread

pytestmark = pytest.mark.integration

FORGERY_BURST = "ce500df6-15fa-4ecc-aacb-bd53d5d0d92b"
NEW_SCOPE = "cc5c1082-aaf2-49b9-8f75-4d73f9f9e789"
GROUPS = 20_000


def alert_totals(es: Elasticsearch, det: Detections, rule_id: str) -> tuple[int, int, int]:
    """(alerts, sum of their counts, distinct group keys) of one rule, from the alerts index itself."""
    es.indices.refresh(index=det.settings.alerts_index)
    query = {"term": {"rule_id": rule_id}}
    response: Any = es.search(
        index=det.settings.alerts_index,
        size=0,
        track_total_hits=True,
        query=query,
        aggs={"events": {"sum": {"field": "count"}}},
    )
    keys = 0
    after: dict[str, Any] | None = None
    while True:  # distinct keys counted exactly (cardinality is an estimate)
        composite: dict[str, Any] = {"size": 10_000, "sources": [{"k": {"terms": {"field": "group_key"}}}]}
        if after:
            composite["after"] = after
        page: Any = es.search(
            index=det.settings.alerts_index, size=0, query=query, aggs={"k": {"composite": composite}}
        )
        keys += len(page["aggregations"]["k"]["buckets"])
        after = page["aggregations"]["k"].get("after_key")
        if len(page["aggregations"]["k"]["buckets"]) < 10_000:
            break
    return int(response["hits"]["total"]["value"]), int(response["aggregations"]["events"]["value"]), keys


def test_100000_events_in_one_group_and_one_in_another(
    es: Elasticsearch, pipeline: Pipeline, make_detections: Callable[..., Detections]
) -> None:
    start = recent()
    big = (
        access(n, "10.2.0.1", at, ingested=at + timedelta(seconds=1))
        for n, at in enumerate(spread(start, timedelta(minutes=10), 100_000))
    )
    lone = access(0, "10.2.0.2", start + timedelta(minutes=3), ingested=start + timedelta(minutes=3, seconds=1))
    load(es, pipeline.settings.namespace, [*big, lone])
    det = make_detections(initial_lookback_seconds=15 * 60)
    now = later()
    report = det.run_cycle(now, force=True)
    assert not report.errors
    by_key = {a.group_key: a for a in alerts_of(det, SCANNER)}
    assert {k: a.count for k, a in by_key.items()} == {"source.ip=10.2.0.1": 100_000, "source.ip=10.2.0.2": 1}
    window_start = now - timedelta(seconds=det.settings.initial_lookback_seconds)
    assert by_key["source.ip=10.2.0.1"].count == es_count(es, det, SCANNER, "10.2.0.1", window_start, now)
    assert (by_key["source.ip=10.2.0.1"].first_seen, by_key["source.ip=10.2.0.1"].last_seen) == (
        start,
        start + timedelta(minutes=10),
    )
    assert len(by_key["source.ip=10.2.0.1"].events) <= det.settings.samples_per_alert
    assert by_key["source.ip=10.2.0.2"].first_seen == by_key["source.ip=10.2.0.2"].last_seen


def test_20000_groups_of_a_simple_rule_each_get_their_alert(
    es: Elasticsearch, pipeline: Pipeline, make_detections: Callable[..., Detections]
) -> None:
    start = recent()
    load(
        es,
        pipeline.settings.namespace,
        (
            access(0, ip(n), start + timedelta(milliseconds=n), ingested=start + timedelta(seconds=1))
            for n in range(GROUPS)
        ),
    )
    det = make_detections(initial_lookback_seconds=15 * 60)
    report = det.run_cycle(later(), force=True)
    assert not report.errors
    run = next(r for r in report.runs if r.rule_id == SCANNER)
    assert (run.hits, run.groups, run.folded_groups) == (GROUPS, GROUPS, 0)
    assert run.pages >= GROUPS // det.settings.group_page_size
    assert alert_totals(es, det, SCANNER) == (GROUPS, GROUPS, GROUPS)


def test_20000_groups_of_a_correlation_rule_each_get_their_alert_counting_events(
    es: Elasticsearch, pipeline: Pipeline, make_detections: Callable[..., Detections]
) -> None:
    start = recent()
    ingested = start + timedelta(seconds=30)
    docs = (
        auth(k, ip(n, 11), start + timedelta(seconds=20 * k), reason="bad_signature", client="c", ingested=ingested)
        for n in range(GROUPS)
        for k in range(3)
    )
    load(es, pipeline.settings.namespace, docs)
    det = make_detections(initial_lookback_seconds=15 * 60)
    report = det.run_cycle(later(), force=True)
    assert not report.errors
    run = next(r for r in report.runs if r.rule_id == FORGERY_BURST)
    assert (run.groups, run.folded_groups) == (GROUPS, 0)
    # each alert counts its 3 events, not its samples; every source has its own
    assert alert_totals(es, det, FORGERY_BURST) == (GROUPS, 3 * GROUPS, GROUPS)


def test_20000_groups_of_a_new_terms_rule_each_get_their_alert(
    es: Elasticsearch, pipeline: Pipeline, make_detections: Callable[..., Detections]
) -> None:
    start = recent()
    long_ago = datetime.now(UTC) - timedelta(days=2)
    history = (
        auth(0, "10.3.0.1", long_ago, reason="ok", client=f"client-{n}", ingested=long_ago, scope="alerts:read")
        for n in range(GROUPS)
    )
    fresh = (
        auth(0, "10.3.0.1", start, reason="ok", client=f"client-{n}", ingested=start, scope="rules:admin")
        for n in range(GROUPS)
    )
    load(es, pipeline.settings.namespace, [*history, *fresh])
    det = make_detections(initial_lookback_seconds=15 * 60)
    report = det.run_cycle(later(), force=True)
    assert not report.errors
    run = next(r for r in report.runs if r.rule_id == NEW_SCOPE)
    assert (run.groups, run.folded_groups) == (GROUPS, 0)
    assert alert_totals(es, det, NEW_SCOPE) == (GROUPS, GROUPS, GROUPS)
