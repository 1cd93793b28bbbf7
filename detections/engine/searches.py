"""Search bodies for detection and new-terms rules, and turning their hits into alert candidates."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from detections.alerts.store import Candidate
from detections.catalog.compiled import CompiledRule
from detections.engine.events import SNAPSHOT_FIELDS, group_key, snapshot
from detections.engine.windows import Window
from detections.settings import DetectionsSettings


def header(settings: DetectionsSettings, datasets: tuple[str, ...]) -> dict[str, Any]:
    return {
        "index": ",".join(settings.logs_index(d) for d in datasets),
        "ignore_unavailable": True,
        "allow_no_indices": True,
    }


def _ingested(start: datetime, end: datetime) -> dict[str, Any]:
    return {"range": {"event.ingested": {"gte": start.isoformat(), "lt": end.isoformat()}}}


def simple_body(rule: CompiledRule, window: Window, settings: DetectionsSettings) -> dict[str, Any]:
    assert rule.query is not None
    return {
        "size": settings.max_hits_per_rule,
        "track_total_hits": True,
        "sort": [{"@timestamp": "asc"}, {"event.id": "asc"}],
        "_source": list(SNAPSHOT_FIELDS),
        "query": {"bool": {"filter": [{"query_string": {"query": rule.query}}, _ingested(window.start, window.end)]}},
    }


def simple_candidates(rule: CompiledRule, response: dict[str, Any]) -> tuple[int, list[Candidate]]:
    """(total hits, one candidate per group key)."""
    hits = response.get("hits", {})
    total = int(hits.get("total", {}).get("value", 0))
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for hit in hits.get("hits", []):
        groups[group_key(hit.get("_source", {}), rule.group_by)].append(hit)
    extra = max(total - sum(len(v) for v in groups.values()), 0)
    candidates = []
    for index, (key, group_hits) in enumerate(sorted(groups.items())):
        events = [snapshot(h) for h in group_hits]
        stamps = [e.timestamp for e in events if e.timestamp is not None]
        first, last = (
            (min(stamps), max(stamps)) if stamps else (datetime.now().astimezone(), datetime.now().astimezone())
        )
        candidates.append(
            Candidate(
                rule=rule.info,
                group_key=key,
                first_seen=first,
                last_seen=last,
                events=events,
                suppress_seconds=rule.suppress_seconds,
                summary=f"{rule.info.title}: {len(events)} event(s) for {key}",
                extra_count=extra if index == 0 else 0,
            )
        )
    return total, candidates


def _composite(fields: tuple[str, ...], size: int = 1000) -> dict[str, Any]:
    return {"composite": {"size": size, "sources": [{f: {"terms": {"field": f}}} for f in fields]}}


def new_terms_body(rule: CompiledRule, window: Window, settings: DetectionsSettings) -> dict[str, Any]:
    assert rule.query is not None
    return {
        "size": 0,
        "query": {"bool": {"filter": [{"query_string": {"query": rule.query}}, _ingested(window.start, window.end)]}},
        "aggs": {
            "combos": {
                **_composite(rule.new_terms),
                "aggs": {
                    "sample": {
                        "top_hits": {"size": 3, "sort": [{"@timestamp": "asc"}], "_source": list(SNAPSHOT_FIELDS)}
                    }
                },
            }
        },
    }


def new_terms_history_body(
    rule: CompiledRule, window: Window, settings: DetectionsSettings, first_values: list[str]
) -> dict[str, Any]:
    assert rule.query is not None
    history_start = window.start - timedelta(days=settings.new_terms_history_days)
    return {
        "size": 0,
        "query": {
            "bool": {
                "filter": [
                    {"query_string": {"query": rule.query}},
                    _ingested(history_start, window.start),
                    {"terms": {rule.new_terms[0]: first_values}},
                ]
            }
        },
        "aggs": {"combos": _composite(rule.new_terms, size=10_000)},
    }


def _combo(key: dict[str, Any], fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(str(key[f]) for f in fields)


def new_terms_window(rule: CompiledRule, response: dict[str, Any]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    buckets = response.get("aggregations", {}).get("combos", {}).get("buckets", [])
    return {_combo(b["key"], rule.new_terms): b["sample"]["hits"]["hits"] for b in buckets}


def new_terms_candidates(
    rule: CompiledRule, seen: dict[tuple[str, ...], list[dict[str, Any]]], history: dict[str, Any]
) -> list[Candidate]:
    """Combinations never seen in the history, for first-field values (e.g. clients) that do have history.

    A value with no history at all is still being learnt: alerting on it would flood every new deployment.
    """
    buckets = history.get("aggregations", {}).get("combos", {}).get("buckets", [])
    known = {_combo(b["key"], rule.new_terms) for b in buckets}
    known_first = {combo[0] for combo in known}
    candidates = []
    for combo, hits in sorted(seen.items()):
        if combo in known or combo[0] not in known_first:
            continue
        events = [snapshot(h) for h in hits]
        stamps = [e.timestamp for e in events if e.timestamp is not None]
        first = min(stamps) if stamps else datetime.now().astimezone()
        label = ", ".join(f"{f.removesuffix('.caseless')}={v}" for f, v in zip(rule.new_terms, combo, strict=True))
        key = group_key(hits[0].get("_source", {}), rule.group_by) + "|new=" + "|".join(combo)
        candidates.append(
            Candidate(
                rule=rule.info,
                group_key=key,
                first_seen=first,
                last_seen=max(stamps) if stamps else first,
                events=events,
                suppress_seconds=rule.suppress_seconds,
                summary=f"{rule.info.title}: first time {label}",
            )
        )
    return candidates
