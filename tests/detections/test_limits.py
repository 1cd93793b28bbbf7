"""Every fixed size left in `detections/`, one test each: past it the engine pages, batches or says what it
folded; nothing is dropped in silence. Plus hypothesis over group and volume shapes against the real engine.

| limit | where | what happens past it | test |
|---|---|---|---|
| `group_page_size` | settings | the next composite page (`after_key`) | test_groups_past_one_page_... / hypothesis |
| `storm_groups` | settings | one alert-storm alert with exact totals | test_an_alert_storm_... (simple, correlation) |
| `samples_per_alert` | settings | samples thinned; facts unchanged | test_exact.py, hypothesis |
| `MSEARCH_BATCH` | runner | another `_msearch` request | test_searches_past_one_msearch_batch_all_run |
| `HISTORY_TERMS_CHUNK` | searches | another history lookup | test_new_terms_history_past_one_chunk |
| `LOOKUP_CHUNK` | alerts.store | another open-alert lookup | test_open_alert_lookups_past_one_chunk_merge_every_group |
| `SCAN_PAGE` | alerts.store | next `search_after` page | test_resolved_alerts_past_one_page_all_counted |
| `TOP_GROUPS` | storm | the rest are in the folded totals | test_an_alert_storm_... |
| `SLICES`, `DISTINCT_PER_FIELD`, `HITS_PER_KEY`, `STORM_SAMPLE_GROUPS` | samples | fewer samples | bounds here |
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from detections import Detections, DetectionsCollector, Verdict
from detections.alerts import store
from detections.engine import runner, searches
from detections.engine.storm import STORM_GROUP_KEY, TOP_GROUPS
from detections.engine.windows import Window
from siem import Pipeline
from tests.detections.conftest import alerts_of, later
from tests.detections.volume import SCANNER, access, auth, ip, load, recent

pytestmark = pytest.mark.integration

FORGERY_BURST = "ce500df6-15fa-4ecc-aacb-bd53d5d0d92b"
NEW_SCOPE = "cc5c1082-aaf2-49b9-8f75-4d73f9f9e789"
EXAMPLES = itertools.count(20)


def scanners(start: datetime, sizes: list[int], first: int = 0) -> list[dict[str, object]]:
    """Group `g` (source `ip(g)`) gets `sizes[g]` scanner requests (event numbers from `first`), one second
    apart, ingested as they happen."""
    return [
        access(first + k, ip(g), start + timedelta(seconds=k), ingested=start + timedelta(seconds=k, milliseconds=1))
        for g, size in enumerate(sizes)
        for k in range(size)
    ]


def test_groups_past_one_page_all_get_their_alert(
    es: Elasticsearch, pipeline: Pipeline, make_detections: Callable[..., Detections]
) -> None:
    load(es, pipeline.settings.namespace, scanners(recent(), [2] * 50))
    det = make_detections(group_page_size=7, initial_lookback_seconds=900)
    report = det.run_cycle(later(), force=True)
    run = next(r for r in report.runs if r.rule_id == SCANNER)
    assert (run.groups, run.pages) == (50, 8)  # 7 full pages and one short one
    assert sorted(a.count for a in alerts_of(det, SCANNER)) == [2] * 50


def test_an_alert_storm_folds_every_group_into_one_alert_that_says_so(
    es: Elasticsearch, pipeline: Pipeline, make_detections: Callable[..., Detections]
) -> None:
    sizes = [g % 5 + 1 for g in range(120)]
    load(es, pipeline.settings.namespace, scanners(recent(), sizes))
    det = make_detections(storm_groups=50, group_page_size=16, initial_lookback_seconds=900)
    report = det.run_cycle(later(), force=True)
    run = next(r for r in report.runs if r.rule_id == SCANNER)
    assert (run.groups, run.folded_groups, run.folded_events, run.hits) == (120, 120, sum(sizes), sum(sizes))
    [storm] = alerts_of(det, SCANNER)
    assert (storm.category, storm.group_key, storm.count, storm.folded_groups) == (
        "storm",
        STORM_GROUP_KEY,
        sum(sizes),
        120,
    )
    assert "alert storm: 120 groups folded into this alert" in storm.summary
    assert storm.detail.count("(5)") == TOP_GROUPS  # the top groups by events, each with its count
    assert 0 < len(storm.events) <= det.settings.samples_per_alert
    assert det.storms() == {SCANNER: 1}
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DetectionsCollector(det.state))
    assert registry.get_sample_value("vigil_detections_alert_storms_total", {"rule_id": SCANNER}) == 1


def test_a_correlation_alert_storm_is_explicit_too(
    es: Elasticsearch, pipeline: Pipeline, make_detections: Callable[..., Detections]
) -> None:
    start = recent()
    docs = [
        auth(k, ip(n, 11), start + timedelta(seconds=k), reason="bad_signature", client="c", ingested=start)
        for n in range(12)
        for k in range(3)
    ]
    load(es, pipeline.settings.namespace, docs)
    det = make_detections(storm_groups=5, initial_lookback_seconds=900)
    report = det.run_cycle(later(), force=True)
    run = next(r for r in report.runs if r.rule_id == FORGERY_BURST)
    assert (run.folded_groups, run.folded_events) == (12, 36)
    [storm] = alerts_of(det, FORGERY_BURST)
    assert (storm.count, storm.folded_groups, storm.category) == (36, 12, "storm")


def test_searches_past_one_msearch_batch_all_run(
    es: Elasticsearch,
    pipeline: Pipeline,
    make_detections: Callable[..., Detections],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "MSEARCH_BATCH", 2)
    load(es, pipeline.settings.namespace, scanners(recent(), [3, 1]))
    det = make_detections(initial_lookback_seconds=900)
    report = det.run_cycle(later(), force=True)
    assert not report.errors
    assert len(report.runs) > 2 * runner.MSEARCH_BATCH
    assert sorted(a.count for a in alerts_of(det, SCANNER)) == [1, 3]


def test_new_terms_history_past_one_chunk(
    es: Elasticsearch,
    pipeline: Pipeline,
    make_detections: Callable[..., Detections],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(searches, "HISTORY_TERMS_CHUNK", 3)
    start, long_ago = recent(), datetime.now(UTC) - timedelta(days=2)
    docs = [
        auth(0, "10.4.0.1", at, reason="ok", client=f"client-{n}", ingested=at, scope=scope)
        for n in range(10)
        for at, scope in ((long_ago, "alerts:read"), (start, "rules:admin"))
    ]
    load(es, pipeline.settings.namespace, docs)
    det = make_detections(group_page_size=4, initial_lookback_seconds=900)
    det.run_cycle(later(), force=True)
    assert len(alerts_of(det, NEW_SCOPE)) == 10


def test_open_alert_lookups_past_one_chunk_merge_every_group(
    es: Elasticsearch,
    pipeline: Pipeline,
    make_detections: Callable[..., Detections],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "LOOKUP_CHUNK", 7)
    det = make_detections(initial_lookback_seconds=900)
    load(es, pipeline.settings.namespace, scanners(recent(), [1] * 30))
    det.run_cycle(later(), force=True)
    time.sleep(1.5)  # the next events are ingested after the first window's end
    load(es, pipeline.settings.namespace, scanners(datetime.now(UTC) - timedelta(seconds=1), [2] * 30, first=100))
    det.run_cycle(later(), force=True)  # the next window: every group's open alert is found and updated
    alerts = alerts_of(det, SCANNER)
    assert len(alerts) == 30
    assert {a.count for a in alerts} == {3}


def test_resolved_alerts_past_one_page_all_counted(
    es: Elasticsearch,
    pipeline: Pipeline,
    make_detections: Callable[..., Detections],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "SCAN_PAGE", 3)
    load(es, pipeline.settings.namespace, scanners(recent(), [1] * 10))
    det = make_detections(initial_lookback_seconds=900)
    det.run_cycle(later(), force=True)
    for alert in alerts_of(det, SCANNER):
        det.resolve(alert.id, "ana", Verdict.BENIGN)
    assert sum(t.resolved for t in det.triage_times()) == 10


@st.composite
def shapes(draw: st.DrawFn) -> tuple[list[int], int, list[int]]:
    """Group sizes (a haystack may dwarf the needles), a page size, and each group's spread in seconds."""
    sizes = draw(st.lists(st.integers(1, 400), min_size=1, max_size=12))
    page = draw(st.integers(1, 6))
    spans = draw(st.lists(st.integers(0, 600), min_size=len(sizes), max_size=len(sizes)))
    return sizes, page, spans


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=shapes())
def test_any_group_shape_gives_every_group_its_exact_facts(
    es: Elasticsearch,
    pipeline: Pipeline,
    make_detections: Callable[..., Detections],
    shape: tuple[list[int], int, list[int]],
) -> None:
    sizes, page, spans = shape
    tag = next(EXAMPLES)  # each example (replays included) its own addresses and its own window
    start = recent() - timedelta(hours=tag)
    docs = []
    expected = {}
    for g, (size, span) in enumerate(zip(sizes, spans, strict=True)):
        stamps = [start + timedelta(seconds=span) * k / max(size - 1, 1) for k in range(size)]
        stamps = [s.replace(microsecond=s.microsecond // 1000 * 1000) for s in stamps]
        docs += [access(k, ip(g, tag), at, ingested=start, path=f"/x{k % 3}") for k, at in enumerate(stamps)]
        expected[f"source.ip={ip(g, tag)}"] = (size, min(stamps), max(stamps))
    load(es, pipeline.settings.namespace, docs)
    det = make_detections(group_page_size=page, samples_per_alert=5)
    rule = det.ruleset.rules[SCANNER]
    result = det.engine.evaluate_window(rule, Window(start, start + timedelta(seconds=1)))
    assert result.error is None
    got = {c.group_key: (c.count, c.first_seen, c.last_seen) for c in result.candidates}
    assert got == expected
    assert result.hits == sum(sizes)
    assert all(len(c.events) <= 5 for c in result.candidates)
    assert all(c.events[0].timestamp == c.first_seen for c in result.candidates)
