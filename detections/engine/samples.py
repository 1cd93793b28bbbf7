"""Sample events of an alert: a bounded, representative list, never the source of its facts.

An alert's count and time span come from aggregations (see `grouping.py`); the samples only let an analyst see
what the events look like. They are asked for inside the same aggregation as the facts: the group's first and
last event, one event per slice of the window (so a long attack is shown from start to end), and one event per
distinct value of the fields that vary within a group (user agent, path, source, reason...). `thin` keeps that
spread when an alert's samples are merged over several runs.
"""

from __future__ import annotations

from typing import Any

from detections.engine.events import SNAPSHOT_FIELDS, snapshot
from detections.engine.windows import Window
from detections.models import EventSnapshot

# Slices of the window that each contribute one sample; with the first, the last and DISTINCT_PER_FIELD per
# diversity field, a group returns at most SLICES + 2 + 3 * DISTINCT_PER_FIELD hits, thinned to the alert's cap.
SLICES = 10
DISTINCT_PER_FIELD = 4

# The fields whose distinct values make samples representative, per dataset (keyword fields in siem's templates).
DIVERSITY_FIELDS: dict[str, tuple[str, ...]] = {
    "access": ("user_agent.original", "url.path", "source.ip"),
    "exception": ("error.message.keyword", "url.path", "source.ip"),
    "auth": ("event.reason", "vigil.auth.client_id", "source.ip"),
}

# Fields `thin` keeps distinct values of when merging an alert's samples (snapshot field names).
SAMPLE_FIELDS = (
    "user_agent.original",
    "url.path",
    "source.ip",
    "error.message",
    "event.reason",
    "vigil.auth.client_id",
)

_ORDER = [{"@timestamp": "asc"}, {"event.id": {"order": "asc", "unmapped_type": "keyword"}}]


def _top(size: int, order: str = "asc") -> dict[str, Any]:
    sort = (
        _ORDER
        if order == "asc"
        else [{"@timestamp": "desc"}, {"event.id": {"order": "desc", "unmapped_type": "keyword"}}]
    )
    return {"top_hits": {"size": size, "sort": sort, "_source": list(SNAPSHOT_FIELDS)}}


def diversity_fields(datasets: tuple[str, ...], group_by: tuple[str, ...]) -> tuple[str, ...]:
    """The diversity fields of the rule's datasets, minus the group fields (constant within a group)."""
    grouped = {f.removesuffix(".caseless") for f in group_by}
    out: list[str] = []
    for dataset in datasets:
        for name in DIVERSITY_FIELDS.get(dataset, ()):
            if name not in grouped and name not in out:
                out.append(name)
    return tuple(out)


def sample_aggs(window: Window, fields: tuple[str, ...]) -> dict[str, Any]:
    """Sub-aggregations of one group that return its representative hits (bounded per group)."""
    span_ms = max(int((window.end - window.start).total_seconds() * 1000), 1)
    slice_ms = max(-(-span_ms // SLICES), 1)
    aggs: dict[str, Any] = {
        "s_first": _top(1),
        "s_last": _top(1, "desc"),
        "s_slices": {
            "date_histogram": {
                "field": window.field,
                "fixed_interval": f"{slice_ms}ms",
                "min_doc_count": 1,
                # the query keeps the window already; hard bounds keep the buckets at SLICES (+1 for alignment)
                "hard_bounds": {"min": window.start.isoformat(), "max": window.end.isoformat()},
            },
            "aggs": {"hit": _top(1)},
        },
    }
    for index, name in enumerate(fields):
        # the latest event per value: the slices already bring each slice's earliest
        aggs[f"s_by{index}"] = {
            "terms": {"field": name, "size": DISTINCT_PER_FIELD},
            "aggs": {"hit": _top(1, "desc")},
        }
    return aggs


def _hits(agg: dict[str, Any]) -> list[dict[str, Any]]:
    return list(agg.get("hits", {}).get("hits", []))


def sample_hits(bucket: dict[str, Any]) -> list[dict[str, Any]]:
    """The hits of `sample_aggs` in one bucket, in priority order: the first and last event, then round-robin
    over the time slices and each field's distinct values, so a cap keeps both kinds of spread."""
    out = _hits(bucket.get("s_first", {})) + _hits(bucket.get("s_last", {}))
    lists = [[h for piece in bucket.get("s_slices", {}).get("buckets", []) for h in _hits(piece.get("hit", {}))]]
    lists.extend(
        [h for b in agg.get("buckets", []) for h in _hits(b.get("hit", {}))]
        for name, agg in sorted(bucket.items())
        if name.startswith("s_by")
    )
    for round_ in range(max((len(hits) for hits in lists), default=0)):
        out.extend(hits[round_] for hits in lists if round_ < len(hits))
    return out


def snapshots(hits: list[dict[str, Any]], cap: int) -> list[EventSnapshot]:
    """The first `cap` distinct hits of a priority-ordered list, as snapshots."""
    seen: set[str] = set()
    out: list[EventSnapshot] = []
    for hit in hits:
        key = str(hit.get("_id"))
        if key in seen:
            continue
        seen.add(key)
        out.append(snapshot(hit))
        if len(out) == cap:
            break
    return out


def thin(events: list[EventSnapshot], cap: int, fields: tuple[str, ...] = ()) -> list[EventSnapshot]:
    """At most `cap` distinct events, in time order, keeping the first and last, up to half the cap for distinct
    values of `fields`, and the rest evenly spread over time. Deterministic for the same input."""
    unique = {e.id: e for e in events}
    ordered = sorted(unique.values(), key=lambda e: (e.timestamp is None, e.timestamp, e.id))
    if len(ordered) <= cap:
        return ordered
    chosen: set[int] = {0, len(ordered) - 1} if cap > 1 else {0}
    seen: dict[str, set[str]] = {f: set() for f in fields}
    for index, event in enumerate(ordered):
        if len(chosen) >= max(cap // 2, 2):
            break
        for name in fields:
            value = str(event.fields.get(name.removesuffix(".keyword")))
            if value not in seen[name]:
                seen[name].add(value)
                chosen.add(index)
                break
    step = (len(ordered) - 1) / max(cap - 1, 1)
    for k in range(cap):
        if len(chosen) >= cap:
            break
        chosen.add(round(k * step))
    for index in range(len(ordered)):  # rounding collisions: fill with the earliest not yet chosen
        if len(chosen) >= cap:
            break
        chosen.add(index)
    return [ordered[i] for i in sorted(chosen)]
