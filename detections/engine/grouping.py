"""Every group of a rule's matches, with exact facts: a composite aggregation paged with `after_key` to the end.

Each page returns, per group, its exact event count (`doc_count`), its first and last `@timestamp` (`min`/`max`)
and a few representative hits (`samples.py`). The pager asks for the next page until the composite is exhausted;
nothing is cut at a page size. Past `storm_groups` groups the pager stops asking for samples and only tallies the
remaining groups (`storm.py`), so a storm is reported with exact totals at the cost of facts-only pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from detections.engine.samples import sample_aggs, sample_hits
from detections.engine.storm import StormTally
from detections.engine.windows import Window

STORM_SAMPLE_GROUPS = 20


@dataclass
class GroupFacts:
    key: dict[str, Any]
    count: int
    first: datetime
    last: datetime
    hits: list[dict[str, Any]]


def label(key: dict[str, Any], fields: tuple[str, ...]) -> str:
    """`field=value|...` over the group fields (`.caseless` values arrive lower-cased); `*` for no field."""
    parts = [f"{name.removesuffix('.caseless')}={'' if key.get(name) is None else key[name]}" for name in fields]
    return "|".join(parts) or "*"


def epoch_ms(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def composite_sources(fields: tuple[str, ...], *, missing: bool) -> list[dict[str, Any]]:
    return [{name: {"terms": {"field": name, "missing_bucket": missing}}} for name in fields]


@dataclass
class GroupPager:
    """One rule's groups over one window, page by page; `body()` is the next request, `take()` reads its answer.

    With no group fields the whole window is one group, answered by one page of top-level aggregations.
    """

    query: dict[str, Any]
    fields: tuple[str, ...]
    window: Window
    sample_fields: tuple[str, ...]
    page_size: int
    storm_groups: int
    missing_bucket: bool = True
    after: dict[str, Any] | None = None
    done: bool = False
    pages: int = 0
    total: int = 0
    groups: list[GroupFacts] = field(default_factory=list)
    storm: StormTally | None = None
    storm_hits: list[dict[str, Any]] = field(default_factory=list)

    def _facts(self, *, samples: bool) -> dict[str, Any]:
        aggs: dict[str, Any] = {"f_first": {"min": {"field": "@timestamp"}}, "f_last": {"max": {"field": "@timestamp"}}}
        if samples:
            aggs.update(sample_aggs(self.window, self.sample_fields))
        return aggs

    def body(self) -> dict[str, Any]:
        if not self.fields:
            return {"size": 0, "track_total_hits": True, "query": self.query, "aggs": self._facts(samples=True)}
        composite: dict[str, Any] = {
            "size": self.page_size,
            "sources": composite_sources(self.fields, missing=self.missing_bucket),
        }
        if self.after is not None:
            composite["after"] = self.after
        return {
            "size": 0,
            # the exact number of matching events, asked once (the first page) for the run record
            "track_total_hits": self.pages == 0,
            "query": self.query,
            "aggs": {"groups": {"composite": composite, "aggs": self._facts(samples=self.storm is None)}},
        }

    def _add(self, bucket: dict[str, Any], key: dict[str, Any]) -> None:
        count = int(bucket["doc_count"])
        if count == 0 or bucket["f_first"].get("value") is None:
            return
        first, last = epoch_ms(bucket["f_first"]["value"]), epoch_ms(bucket["f_last"]["value"])
        if self.storm is not None:
            self.storm.add(label(key, self.fields), count, first, last)
            return
        self.groups.append(GroupFacts(key, count, first, last, sample_hits(bucket)))
        if len(self.groups) > self.storm_groups:
            self.storm = StormTally()
            for group in self.groups:
                self.storm.add(label(group.key, self.fields), group.count, group.first, group.last)
            # one sample from each of the first groups shows what the storm looks like; the rest are let go
            self.storm_hits = [g.hits[0] for g in self.groups if g.hits][:STORM_SAMPLE_GROUPS]
            self.groups = []

    def take(self, response: dict[str, Any]) -> None:
        if self.pages == 0:
            self.total = int(response.get("hits", {}).get("total", {}).get("value", 0))
        self.pages += 1
        aggs = response.get("aggregations", {})
        if not self.fields:
            self._add({"doc_count": self.total, **aggs}, {})
            self.done = True
            return
        composite = aggs.get("groups", {})
        buckets = composite.get("buckets", [])
        for bucket in buckets:
            self._add(bucket, bucket["key"])
        # a composite page holds fewer buckets than asked only when no group is left after it
        self.after = composite.get("after_key")
        self.done = len(buckets) < self.page_size or self.after is None
