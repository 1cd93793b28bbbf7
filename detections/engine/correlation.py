"""Sigma correlation rules (event_count, value_count, temporal) on one paged composite aggregation.

The bundled Elasticsearch has no ES|QL or EQL. One composite aggregation keyed on the group-by fields, a
`date_histogram` of `histogram_seconds` on `@timestamp` (and, for value_count, the value field) returns, page by
page until exhausted, every (group, time bucket[, value]) with its exact event count, its first and last
`@timestamp`, the referenced rules seen (temporal) and a few sample events. The rule's timespan then slides over
each group's buckets here, one bucket at a time, so a burst straddling two fixed windows is still caught. Every
group and every distinct value is read: no `terms` size and no first page stands between an attacker and an alert.

A firing's `count` is the number of events in its buckets (not the samples), its span the exact first and last
event time; its tally per bucket lets the alert store count a bucket once when two runs' lookbacks overlap.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from detections.alerts.store import Candidate
from detections.catalog.compiled import CompiledRule, Correlation, condition_holds
from detections.engine.events import SNAPSHOT_FIELDS, snapshot
from detections.engine.grouping import epoch_ms, label
from detections.engine.samples import SAMPLE_FIELDS, thin
from detections.engine.storm import StormTally
from detections.engine.windows import Window
from detections.models import EventSnapshot
from detections.settings import DetectionsSettings

# Sample events per (group, time bucket[, value]) key; a firing's samples are thinned from these to the alert's cap.
HITS_PER_KEY = 3
_TIME = "t"
_VALUE = "v"


@dataclass
class Bucket:
    start: datetime
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    values: set[str] = field(default_factory=set)
    parts: set[str] = field(default_factory=set)
    hits: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Firing:
    group_key: str
    measure: int
    end: datetime  # end of the last bucket, for joining overlapping windows
    members: dict[datetime, Bucket] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(b.count for b in self.members.values())

    @property
    def first_seen(self) -> datetime:
        return min(b.first or b.start for b in self.members.values())

    @property
    def last_seen(self) -> datetime:
        return max(b.last or b.start for b in self.members.values())

    def events(self, cap: int) -> list[EventSnapshot]:
        hits = [h for start in sorted(self.members) for h in self.members[start].hits]
        return thin([snapshot(h) for h in hits], cap, SAMPLE_FIELDS)


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
        if not condition_holds(correlation, value):
            continue
        if current is None or window[0].start > current.end:
            current = Firing(group_key, value, bucket.start + step)
            firings.append(current)
        current.end = bucket.start + step
        current.measure = max(current.measure, value)
        current.members.update((b.start, b) for b in window)
    return firings


def _values(events: list[EventSnapshot], fields: tuple[str, ...]) -> set[tuple[str, ...]]:
    out = set()
    for event in events:
        values = tuple(event.fields.get(f.removesuffix(".caseless")) for f in fields)
        if all(v is not None for v in values):
            out.add(tuple(str(v).lower() for v in values))
    return out


@dataclass
class Join:
    """One grouping of a correlation: its group-by fields, timespan and what the alert says about it."""

    correlation: Correlation
    name: str
    groups: dict[str, dict[datetime, Bucket]] = field(default_factory=dict)


@dataclass
class CorrelationSearch:
    """A correlation rule over one window (reaching back one timespan), paged to the last composite key.

    A temporal correlation with `fallback_group_by` makes a second pass: the same events grouped on the fallback
    fields within `fallback_timespan`, for logs that carry no value of the main group field (plain nginx lines
    have no request id). A fallback firing whose events the main join already alerted on is dropped.
    """

    rule: CompiledRule
    window: Window
    settings: DetectionsSettings
    after: dict[str, Any] | None = None
    done: bool = False
    pages: int = 0
    hits: int = 0
    joins: list[Join] = field(default_factory=list)
    current: int = 0
    storm: StormTally | None = None  # correlation storms are folded from the candidates by the runner
    storm_hits: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        c = self.rule.correlation
        assert c is not None
        main = "joined on " + (", ".join(f.removesuffix(".caseless") for f in c.group_by) or "the whole window")
        self.joins = [Join(c, main)]
        if c.fallback_group_by:
            fallback = replace(c, group_by=c.fallback_group_by, timespan=c.fallback_timespan)
            names = ", ".join(f.removesuffix(".caseless") for f in c.fallback_group_by)
            self.joins.append(Join(fallback, f"joined on {names} (fallback: no {main.removeprefix('joined on ')})"))

    @property
    def correlation(self) -> Correlation:
        return self.joins[self.current].correlation

    def _sources(self) -> list[dict[str, Any]]:
        c = self.correlation
        # events without a group value cannot be correlated on it (a shared "missing" group would join strangers)
        sources: list[dict[str, Any]] = [{f: {"terms": {"field": f}}} for f in c.group_by]
        interval = f"{self.settings.histogram_seconds}s"
        sources.append({_TIME: {"date_histogram": {"field": "@timestamp", "fixed_interval": interval}}})
        if c.type == "value_count" and c.value_field:
            sources.append({_VALUE: {"terms": {"field": c.value_field}}})
        return sources

    def request(self) -> dict[str, Any] | None:
        if self.done:
            return None
        c = self.correlation
        part_filters = {
            p.name: {"bool": {"filter": [{"query_string": {"query": p.query}}, {"term": {"event.dataset": p.dataset}}]}}
            for p in c.parts
        }
        searched = Window(self.window.start - timedelta(seconds=c.timespan), self.window.end, self.window.field)
        sub: dict[str, Any] = {
            "f_first": {"min": {"field": "@timestamp"}},
            "f_last": {"max": {"field": "@timestamp"}},
            "hit": {
                "top_hits": {"size": HITS_PER_KEY, "sort": [{"@timestamp": "asc"}], "_source": list(SNAPSHOT_FIELDS)}
            },
        }
        if c.type == "temporal":
            sub["parts"] = {"filters": {"filters": part_filters}}
        composite: dict[str, Any] = {"size": self.settings.group_page_size, "sources": self._sources()}
        if self.after is not None:
            composite["after"] = self.after
        return {
            "size": 0,
            "track_total_hits": self.pages == 0,
            "query": {
                "bool": {
                    "filter": [searched.range_filter()],
                    "should": list(part_filters.values()),
                    "minimum_should_match": 1,
                }
            },
            "aggs": {"keys": {"composite": composite, "aggs": sub}},
        }

    def take(self, response: dict[str, Any]) -> None:
        if self.pages == 0:
            self.hits = int(response.get("hits", {}).get("total", {}).get("value", 0))
        self.pages += 1
        composite = response.get("aggregations", {}).get("keys", {})
        raw = composite.get("buckets", [])
        join = self.joins[self.current]
        for item in raw:
            key = item["key"]
            start = epoch_ms(key[_TIME])
            bucket = join.groups.setdefault(label(key, join.correlation.group_by), {}).setdefault(start, Bucket(start))
            bucket.count += int(item["doc_count"])
            first, last = epoch_ms(item["f_first"]["value"]), epoch_ms(item["f_last"]["value"])
            bucket.first = first if bucket.first is None else min(bucket.first, first)
            bucket.last = last if bucket.last is None else max(bucket.last, last)
            if _VALUE in key:
                bucket.values.add(str(key[_VALUE]))
            bucket.parts.update(n for n, b in item.get("parts", {}).get("buckets", {}).items() if b["doc_count"] > 0)
            bucket.hits.extend(item.get("hit", {}).get("hits", {}).get("hits", []))
        self.after = composite.get("after_key")
        if len(raw) < self.settings.group_page_size or self.after is None:
            self.after = None
            self.current += 1
            self.done = self.current == len(self.joins)
            self.current = min(self.current, len(self.joins) - 1)

    def firings(self) -> list[tuple[Join, Firing]]:
        step = timedelta(seconds=self.settings.histogram_seconds)
        out: list[tuple[Join, Firing]] = []
        for join in self.joins:
            for key in sorted(join.groups):
                out.extend((join, f) for f in slide(join.correlation, key, list(join.groups[key].values()), step))
        return out

    def candidates(self) -> list[Candidate]:
        step = timedelta(seconds=self.settings.histogram_seconds)
        cap = self.settings.samples_per_alert
        main = self.joins[0]
        fallback_fields = self.rule.correlation.fallback_group_by if self.rule.correlation else ()
        joined: list[tuple[datetime, datetime, set[tuple[str, ...]]]] = []
        out = []
        for join, f in self.firings():
            events = f.events(cap)
            if join is main and fallback_fields:
                joined.append((f.first_seen, f.last_seen, _values(events, fallback_fields)))
            elif join is not main and any(
                first <= f.last_seen and f.first_seen <= last and values & _values(events, fallback_fields)
                for first, last, values in joined
            ):
                continue  # the same request, already alerted on by the main join
            c = join.correlation
            out.append(
                Candidate(
                    rule=self.rule.info,
                    group_key=f.group_key,
                    first_seen=f.first_seen,
                    last_seen=f.last_seen,
                    count=f.count,
                    events=events,
                    suppress_seconds=self.rule.suppress_seconds,
                    detail=f"{self.rule.info.title}: {c.type} {f.measure} within {c.timespan}s, {join.name}",
                    tally={start: b.count for start, b in f.members.items()},
                    counted_until=max(f.members) + step,
                )
            )
        return out
