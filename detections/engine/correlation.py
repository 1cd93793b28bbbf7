"""Sigma correlation rules (event_count, value_count, temporal) on Elasticsearch aggregations.

The bundled Elasticsearch has no ES|QL or EQL, so one search per correlation returns, for every group, a
`date_histogram` of fine buckets (`histogram_seconds`) carrying the event count, the distinct values or the
referenced rules seen; the sliding window of the rule's timespan then moves over those buckets here. The
window slides by one bucket, so a burst straddling two fixed windows is still caught.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from detections.catalog.compiled import CompiledRule, Correlation, condition_holds
from detections.engine.events import SNAPSHOT_FIELDS, snapshot
from detections.engine.windows import Window
from detections.models import EventSnapshot
from detections.settings import DetectionsSettings


@dataclass
class Bucket:
    start: datetime
    count: int
    values: set[str] = field(default_factory=set)
    parts: set[str] = field(default_factory=set)
    hits: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Firing:
    group_key: str
    first_seen: datetime
    last_seen: datetime
    measure: int
    events: list[EventSnapshot]
    buckets: set[tuple[datetime, int]] = field(default_factory=set)


def _measure(correlation: Correlation, buckets: deque[Bucket]) -> int:
    if correlation.type == "event_count":
        return sum(b.count for b in buckets)
    if correlation.type == "value_count":
        return len(set().union(*(b.values for b in buckets)))
    return len(set().union(*(b.parts for b in buckets)))


def slide(correlation: Correlation, group_key: str, buckets: list[Bucket], step: timedelta) -> list[Firing]:
    """Every maximal run of overlapping windows where the condition holds becomes one firing."""
    span = timedelta(seconds=correlation.timespan)
    firings: list[Firing] = []
    window: deque[Bucket] = deque()
    current: Firing | None = None
    for bucket in sorted(buckets, key=lambda b: b.start):
        window.append(bucket)
        while window and window[0].start <= bucket.start - span:
            window.popleft()
        value = _measure(correlation, window)
        if condition_holds(correlation, value):
            if current is not None and window[0].start <= current.last_seen:
                current.last_seen = bucket.start + step
                current.measure = max(current.measure, value)
                current.buckets.update((b.start, id(b)) for b in window)
            else:
                current = Firing(group_key, window[0].start, bucket.start + step, value, [])
                current.buckets.update((b.start, id(b)) for b in window)
                firings.append(current)
    by_identity = {id(b): b for b in buckets}
    for firing in firings:  # snapshots only for the events behind a firing, once each
        seen: set[str] = set()
        for _, identity in sorted(firing.buckets):
            for hit in by_identity[identity].hits:
                if str(hit.get("_id")) not in seen:
                    seen.add(str(hit.get("_id")))
                    firing.events.append(snapshot(hit))
    return firings


def search_body(rule: CompiledRule, window: Window, settings: DetectionsSettings) -> dict[str, Any]:
    correlation = rule.correlation
    assert correlation is not None
    lookback = window.start - timedelta(seconds=correlation.timespan)
    part_filters = {
        p.name: {"bool": {"filter": [{"query_string": {"query": p.query}}, {"term": {"event.dataset": p.dataset}}]}}
        for p in correlation.parts
    }
    should = list(part_filters.values())
    histogram_aggs: dict[str, Any] = {
        "sample": {"top_hits": {"size": 3, "sort": [{"@timestamp": "asc"}], "_source": list(SNAPSHOT_FIELDS)}}
    }
    if correlation.type == "value_count" and correlation.value_field:
        histogram_aggs["values"] = {"terms": {"field": correlation.value_field, "size": 1000}}
    if correlation.type == "temporal":
        histogram_aggs["parts"] = {"filters": {"filters": part_filters}}
    histogram = {
        "date_histogram": {
            "field": "@timestamp",
            "fixed_interval": f"{settings.histogram_seconds}s",
            "min_doc_count": 1,
        },
        "aggs": histogram_aggs,
    }
    aggs: dict[str, Any]
    if correlation.group_by:
        sources = [{f: {"terms": {"field": f}}} for f in correlation.group_by]
        aggs = {"groups": {"composite": {"size": 1000, "sources": sources}, "aggs": {"time": histogram}}}
    else:
        aggs = {"time": histogram}
    return {
        "size": 0,
        "query": {
            "bool": {
                "filter": [{"range": {"event.ingested": {"gte": lookback.isoformat(), "lt": window.end.isoformat()}}}],
                "should": should,
                "minimum_should_match": 1,
            }
        },
        "aggs": aggs,
    }


def _buckets(histogram: dict[str, Any]) -> list[Bucket]:
    out = []
    for raw in histogram.get("buckets", []):
        bucket = Bucket(
            start=datetime.fromisoformat(raw["key_as_string"].replace("Z", "+00:00")), count=raw["doc_count"]
        )
        bucket.values = {str(v["key"]) for v in raw.get("values", {}).get("buckets", [])}
        bucket.parts = {name for name, b in raw.get("parts", {}).get("buckets", {}).items() if b["doc_count"] > 0}
        bucket.hits = raw.get("sample", {}).get("hits", {}).get("hits", [])
        out.append(bucket)
    return out


def evaluate(rule: CompiledRule, response: dict[str, Any], settings: DetectionsSettings) -> list[Firing]:
    correlation = rule.correlation
    assert correlation is not None
    step = timedelta(seconds=settings.histogram_seconds)
    aggs = response.get("aggregations", {})
    firings: list[Firing] = []
    if correlation.group_by:
        for group in aggs.get("groups", {}).get("buckets", []):
            key = "|".join(f"{k.removesuffix('.caseless')}={v}" for k, v in group["key"].items())
            firings.extend(slide(correlation, key, _buckets(group["time"]), step))
    else:
        firings.extend(slide(correlation, "*", _buckets(aggs.get("time", {})), step))
    return firings
