"""Absence: a log source that was sending and went silent raises an alert, and its rules show as blind.

A dead source must not look like a quiet one: with no events, every rule on it finds nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from detections.alerts.store import Candidate
from detections.models import EventSnapshot, Level, RuleInfo, SourceHealth
from detections.settings import DetectionsSettings

# `audit` is absent on purpose: changes are rare, so a quiet audit stream is normal, not a dead source.
DATASETS = ("access", "exception", "auth")


def absence_rule(dataset: str, settings: DetectionsSettings) -> RuleInfo:
    return RuleInfo(
        id=f"vigil-absence-{dataset}",
        title=f"Log source '{dataset}' went silent",
        level=Level.HIGH,
        tags=["attack.defense-evasion", "attack.t1562.002"],
        dataset=dataset,
        kind="simple",
        source="<engine>",
        description=f"No {dataset} event was ingested for {settings.absence_minutes} minutes after it was sending.",
        interval_seconds=settings.interval_seconds,
    )


def source_health(es: Elasticsearch, settings: DetectionsSettings, now: datetime) -> list[SourceHealth]:
    since = now - timedelta(hours=settings.absence_lookback_hours)
    response: Any = es.search(
        index=settings.logs.logs_pattern,
        ignore_unavailable=True,
        allow_no_indices=True,
        size=0,
        query={"range": {"event.ingested": {"gte": since.isoformat(), "lte": now.isoformat()}}},
        aggs={
            "datasets": {
                # exactly the datasets absence watches, so the size is their number, not a guess
                "terms": {"field": "event.dataset", "include": list(DATASETS), "size": len(DATASETS)},
                "aggs": {"last": {"max": {"field": "event.ingested"}}},
            }
        },
    )
    last: dict[str, datetime] = {}
    for bucket in response.get("aggregations", {}).get("datasets", {}).get("buckets", []):
        stamp = bucket["last"].get("value_as_string")
        if stamp:
            last[str(bucket["key"])] = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    silent_after = now - timedelta(minutes=settings.absence_minutes)
    return [
        SourceHealth(dataset=d, last_ingested=last.get(d), silent=d in last and last[d] < silent_after)
        for d in DATASETS
    ]


def absence_candidates(health: list[SourceHealth], settings: DetectionsSettings, now: datetime) -> list[Candidate]:
    out = []
    for source in health:
        if not source.silent or source.last_ingested is None:
            continue
        anchor = EventSnapshot(
            id=f"absence:{source.dataset}:{source.last_ingested.isoformat()}",
            timestamp=source.last_ingested,
            fields={"event.dataset": source.dataset},
        )
        out.append(
            Candidate(
                rule=absence_rule(source.dataset, settings),
                group_key=f"event.dataset={source.dataset}",
                first_seen=source.last_ingested,
                last_seen=now,
                count=1,
                events=[anchor],
                suppress_seconds=settings.suppress_seconds,
                detail=f"no {source.dataset} events since {source.last_ingested.isoformat()}",
                category="absence",
            )
        )
    return out
