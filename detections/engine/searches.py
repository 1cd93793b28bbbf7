"""Paged searches of simple and new-terms rules over one window, and the alert candidates they yield.

A search is a small state machine the runner drives: `request()` is the next body to send (None when finished),
`take()` reads its response. The runner sends the pending requests of every rule in one `_msearch` per round,
so a cycle costs one round trip per page depth, not one per rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from detections.alerts.store import Candidate
from detections.catalog.compiled import CompiledRule
from detections.engine.events import group_key
from detections.engine.grouping import GroupFacts, GroupPager, composite_sources, label
from detections.engine.samples import diversity_fields, snapshots
from detections.engine.storm import StormTally
from detections.engine.windows import Window
from detections.settings import DetectionsSettings

# First-field values per history lookup of a new-terms rule (Elasticsearch refuses a `terms` query past 65,536
# values); more values are looked up in further chunks, never dropped.
HISTORY_TERMS_CHUNK = 10_000


def header(settings: DetectionsSettings, datasets: tuple[str, ...]) -> dict[str, Any]:
    return {
        "index": ",".join(settings.logs.dataset_pattern(d) for d in datasets),
        "ignore_unavailable": True,
        "allow_no_indices": True,
    }


def rule_query(rule: CompiledRule, window: Window) -> dict[str, Any]:
    assert rule.query is not None
    return {"bool": {"filter": [{"query_string": {"query": rule.query}}, window.range_filter()]}}


def group_candidate(
    rule: CompiledRule, window: Window, group: GroupFacts, key: str, settings: DetectionsSettings, detail: str
) -> Candidate:
    return Candidate(
        rule=rule.info,
        group_key=key,
        first_seen=group.first,
        last_seen=group.last,
        count=group.count,
        events=snapshots(group.hits, settings.samples_per_alert),
        suppress_seconds=rule.suppress_seconds,
        detail=detail,
        tally={window.start: group.count},
        counted_until=window.end,
    )


@dataclass
class SimpleSearch:
    """A detection rule: one alert per group of the rule's `group_by` fields, every group."""

    rule: CompiledRule
    window: Window
    settings: DetectionsSettings
    pager: GroupPager = field(init=False)

    def __post_init__(self) -> None:
        self.pager = GroupPager(
            query=rule_query(self.rule, self.window),
            fields=self.rule.group_by,
            window=self.window,
            sample_fields=diversity_fields(self.rule.datasets, self.rule.group_by),
            page_size=self.settings.group_page_size,
            storm_groups=self.settings.storm_groups,
        )

    def request(self) -> dict[str, Any] | None:
        return None if self.pager.done else self.pager.body()

    def take(self, response: dict[str, Any]) -> None:
        self.pager.take(response)

    @property
    def hits(self) -> int:
        return self.pager.total

    @property
    def storm(self) -> StormTally | None:
        return self.pager.storm

    @property
    def storm_hits(self) -> list[dict[str, Any]]:
        return self.pager.storm_hits

    def candidates(self) -> list[Candidate]:
        return [
            group_candidate(
                self.rule, self.window, g, label(g.key, self.rule.group_by), self.settings, self.rule.info.title
            )
            for g in self.pager.groups
        ]


@dataclass
class NewTermsSearch:
    """A new-terms rule: every combination seen in the window (paged), then its history (paged, chunked)."""

    rule: CompiledRule
    window: Window
    settings: DetectionsSettings
    pager: GroupPager = field(init=False)
    chunks: list[list[str]] = field(default_factory=list)
    chunk: int = 0
    after: dict[str, Any] | None = None
    known: set[tuple[str, ...]] = field(default_factory=set)
    storm: StormTally | None = None  # new-terms storms are folded from the candidates by the runner
    storm_hits: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        fields = self.rule.new_terms
        self.pager = GroupPager(
            query=rule_query(self.rule, self.window),
            fields=fields,
            window=self.window,
            sample_fields=diversity_fields(self.rule.datasets, fields),
            page_size=self.settings.group_page_size,
            # combinations are not alerts (most have history): the storm ceiling applies to the new ones
            storm_groups=2**62,
            missing_bucket=False,
        )

    def _combo(self, key: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(key[f]) for f in self.rule.new_terms)

    def _history_body(self) -> dict[str, Any]:
        assert self.rule.query is not None
        since = self.window.start - timedelta(days=self.settings.new_terms_history_days)
        history = Window(since, self.window.start, self.window.field)
        composite: dict[str, Any] = {
            "size": self.settings.group_page_size,
            "sources": composite_sources(self.rule.new_terms, missing=False),
        }
        if self.after is not None:
            composite["after"] = self.after
        return {
            "size": 0,
            "query": {
                "bool": {
                    "filter": [
                        {"query_string": {"query": self.rule.query}},
                        history.range_filter(),
                        {"terms": {self.rule.new_terms[0]: self.chunks[self.chunk]}},
                    ]
                }
            },
            "aggs": {"combos": {"composite": composite}},
        }

    def request(self) -> dict[str, Any] | None:
        if not self.pager.done:
            return self.pager.body()
        if self.chunk < len(self.chunks):
            return self._history_body()
        return None

    def take(self, response: dict[str, Any]) -> None:
        if not self.pager.done:
            self.pager.take(response)
            if self.pager.done:
                firsts = sorted({str(g.key[self.rule.new_terms[0]]) for g in self.pager.groups})
                self.chunks = [firsts[i : i + HISTORY_TERMS_CHUNK] for i in range(0, len(firsts), HISTORY_TERMS_CHUNK)]
            return
        composite = response.get("aggregations", {}).get("combos", {})
        buckets = composite.get("buckets", [])
        self.known.update(self._combo(b["key"]) for b in buckets)
        self.after = composite.get("after_key")
        if len(buckets) < self.settings.group_page_size or self.after is None:
            self.chunk += 1
            self.after = None

    @property
    def hits(self) -> int:
        return self.pager.total

    def candidates(self) -> list[Candidate]:
        """Combinations never seen in the history, for first-field values (e.g. clients) that do have history.

        A value with no history at all is still being learnt: alerting on it would flood every new deployment.
        """
        known_first = {combo[0] for combo in self.known}
        out = []
        for group in self.pager.groups:
            combo = self._combo(group.key)
            if combo in self.known or combo[0] not in known_first:
                continue
            pairs = zip(self.rule.new_terms, combo, strict=True)
            text = ", ".join(f"{f.removesuffix('.caseless')}={v}" for f, v in pairs)
            source = group.hits[0].get("_source", {}) if group.hits else {}
            key = group_key(source, self.rule.group_by) + "|new=" + "|".join(combo)
            out.append(
                group_candidate(
                    self.rule, self.window, group, key, self.settings, f"{self.rule.info.title}: first time {text}"
                )
            )
        return out
