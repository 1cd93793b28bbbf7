"""Alert facts are exact at volume: every group gets its alert with its true count and span, whatever the hits.

Synthetic ECS documents are bulk-loaded into siem's templates (the path under test is the engine); counts are
checked against Elasticsearch's own `_count` for the same query and window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from elasticsearch import Elasticsearch

from detections import Detections
from siem import Pipeline
from tests.detections.conftest import alerts_of, later
from tests.detections.volume import SCANNER, SCANNER_AGENTS, access, load, recent, spread

pytestmark = pytest.mark.integration


def es_count(es: Elasticsearch, det: Detections, rule_id: str, ip: str, start: datetime, end: datetime) -> int:
    rule = det.ruleset.rules[rule_id]
    query = {
        "bool": {
            "filter": [
                {"query_string": {"query": rule.query}},
                {"term": {"source.ip": ip}},
                {"range": {"event.ingested": {"gte": start.isoformat(), "lt": end.isoformat()}}},
            ]
        }
    }
    return int(es.count(index=det.settings.logs.dataset_pattern("access"), query=query)["count"])


def test_a_needle_group_behind_a_haystack_group_gets_its_own_exact_alert(
    es: Elasticsearch, pipeline: Pipeline, make_detections: Callable[..., Detections]
) -> None:
    start = recent()
    haystack = [
        access(n, "10.0.0.9", at, agent=SCANNER_AGENTS[n % 3], path=f"/p{n % 7}", ingested=at + timedelta(seconds=1))
        for n, at in enumerate(spread(start, timedelta(minutes=10), 600))
    ]
    needle = [
        access(n, "10.0.0.1", at, ingested=at + timedelta(seconds=1))
        for n, at in enumerate(spread(start + timedelta(minutes=11), timedelta(seconds=110), 50))
    ]
    load(es, pipeline.settings.namespace, haystack + needle)
    det = make_detections(initial_lookback_seconds=15 * 60)
    now = later()
    report = det.run_cycle(now, force=True)
    assert not report.errors
    alerts = {a.group_key: a for a in alerts_of(det, SCANNER)}
    assert set(alerts) == {"source.ip=10.0.0.9", "source.ip=10.0.0.1"}
    hay, pin = alerts["source.ip=10.0.0.9"], alerts["source.ip=10.0.0.1"]
    assert (hay.count, pin.count) == (600, 50)
    # the span comes from the data, to the millisecond: exactly the 10 minutes and the 110 seconds loaded
    assert (hay.first_seen, hay.last_seen) == (start, start + timedelta(minutes=10))
    assert pin.last_seen - pin.first_seen == timedelta(seconds=110)
    window_start = now - timedelta(seconds=det.settings.initial_lookback_seconds)
    assert hay.count == es_count(es, det, SCANNER, "10.0.0.9", window_start, now)
    assert pin.count == es_count(es, det, SCANNER, "10.0.0.1", window_start, now)
    # samples: bounded, spread from the first to the last event and over the distinct agents and paths
    assert 12 <= len(hay.events) <= det.settings.samples_per_alert
    stamps = sorted(e.timestamp for e in hay.events if e.timestamp)
    assert (stamps[0], stamps[-1]) == (hay.first_seen, hay.last_seen)
    assert {e.fields["user_agent.original"] for e in hay.events} == set(SCANNER_AGENTS)
    assert len({e.fields["url.path"] for e in hay.events}) >= 4
    assert len({e.timestamp.replace(second=0, microsecond=0) for e in hay.events if e.timestamp}) >= 8
    assert "600 events" in hay.summary
    assert f"600 events for source.ip=10.0.0.9, {start.isoformat()} to " in hay.summary
    assert f"showing {len(hay.events)} samples" in hay.summary
    assert "50 events" in pin.summary
    run = next(r for r in report.runs if r.rule_id == SCANNER)
    assert (run.hits, run.groups, run.folded_groups) == (650, 2, 0)
