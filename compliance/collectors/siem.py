"""Collectors of siem: ingestion health per source (volume, dead letter) and retention with its deletion log.

They read the index layout siem publishes (`IndexLayout`: `{namespace}-logs-*`, `{namespace}-deadletter-*`) and the
ECS fields agreed between packages (`event.dataset`, `service.name`, `@timestamp`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from elasticsearch import Elasticsearch

from compliance.collectors.base import Sources, register
from compliance.collectors.sources import RetentionSource, index_day
from compliance.evidence import DeletionFacts, IngestionHealth, Retention, RevocationFacts, Revocations, SourceFacts
from siem import IndexLayout, SiemSettings, rfc3339

_MISSING = "-"
MAX_REVOCATIONS = 10_000


@dataclass
class IngestionCollector:
    name: ClassVar[str] = IngestionHealth.kind
    source_system: ClassVar[str] = "siem"
    query: ClassVar[str] = (
        "terms event.dataset > terms service.name > max @timestamp, count since now-24h over {namespace}-logs-* "
        "(last lookback_days); count of {namespace}-deadletter-* since now-24h and in total"
    )
    es: Elasticsearch
    layout: IndexLayout
    lookback_days: int

    def parameters(self) -> dict[str, Any]:
        return {"namespace": self.layout.namespace, "lookback_days": self.lookback_days}

    def collect(self, now: datetime) -> IngestionHealth:
        day_ago = rfc3339(now - timedelta(hours=24))
        window = {"gte": rfc3339(now - timedelta(days=self.lookback_days)), "lte": rfc3339(now)}
        result = self.es.options(ignore_status=404).search(
            index=self.layout.logs_pattern,
            size=0,
            allow_no_indices=True,
            ignore_unavailable=True,
            query={"range": {"@timestamp": window}},
            aggs={
                "dataset": {
                    "terms": {"field": "event.dataset", "size": 100},
                    "aggs": {
                        "service": {
                            "terms": {"field": "service.name", "size": 1000, "missing": _MISSING},
                            "aggs": {
                                "last": {"max": {"field": "@timestamp"}},
                                "recent": {"filter": {"range": {"@timestamp": {"gte": day_ago}}}},
                            },
                        }
                    },
                }
            },
        )
        sources = [
            SourceFacts(
                dataset=str(d["key"]),
                service=str(s["key"]),
                last_event_at=s["last"].get("value_as_string"),
                events_24h=int(s["recent"]["doc_count"]),
            )
            for d in result.get("aggregations", {}).get("dataset", {}).get("buckets", [])
            for s in d["service"]["buckets"]
        ]
        return IngestionHealth(
            sources=tuple(sorted(sources, key=lambda s: (s.dataset, s.service))),
            deadletter_24h=self._count({"range": {"@timestamp": {"gte": day_ago, "lte": rfc3339(now)}}}),
            deadletter_total=self._count({"range": {"@timestamp": {"lte": rfc3339(now)}}}),
        )

    def _count(self, query: dict[str, Any]) -> int:
        result = self.es.options(ignore_status=404).count(
            index=self.layout.deadletter_pattern, allow_no_indices=True, ignore_unavailable=True, query=query
        )
        return int(result.get("count", 0))


@dataclass
class RetentionCollector:
    name: ClassVar[str] = Retention.kind
    source_system: ClassVar[str] = "siem"
    query: ClassVar[str] = "siem retention policy(), log(since=now-lookback_days), oldest {namespace}-logs-* index"
    es: Elasticsearch
    layout: IndexLayout
    source: RetentionSource
    lookback_days: int

    def parameters(self) -> dict[str, Any]:
        return {"namespace": self.layout.namespace, "lookback_days": self.lookback_days}

    def collect(self, now: datetime) -> Retention:
        policy = self.source.policy()
        deletions = self.source.log(since=now - timedelta(days=self.lookback_days), limit=10_000)
        indices = self.es.options(ignore_status=404).indices.get(
            index=self.layout.logs_pattern, allow_no_indices=True, ignore_unavailable=True, expand_wildcards="all"
        )
        days = sorted(d for d in (index_day(name) for name in indices.body or {}) if d is not None)
        return Retention(
            retention_days=int(policy["logs_days"]),
            deadletter_retention_days=int(policy["deadletter_days"]),
            oldest_index_day=days[0].isoformat() if days else None,
            deletions=tuple(
                DeletionFacts(
                    timestamp=d.timestamp,
                    index=d.index,
                    index_day=d.index_day,
                    retention_days=d.retention_days,
                    docs=d.docs,
                )
                for d in sorted(deletions, key=lambda d: (d.timestamp, d.index))
            ),
        )


@dataclass
class RevocationsCollector:
    """Revocations as edgeauth reported them to the SIEM (auth decisions with `event.action: revoke`)."""

    name: ClassVar[str] = Revocations.kind
    source_system: ClassVar[str] = "siem"
    query: ClassVar[str] = (
        "{namespace}-logs-auth-* where event.action=revoke and event.outcome=success, @timestamp in"
        " [now-lookback_days, now], oldest first"
    )
    es: Elasticsearch
    layout: IndexLayout
    lookback_days: int

    def parameters(self) -> dict[str, Any]:
        return {"namespace": self.layout.namespace, "lookback_days": self.lookback_days, "limit": MAX_REVOCATIONS}

    def collect(self, now: datetime) -> Revocations:
        window = {"gte": rfc3339(now - timedelta(days=self.lookback_days)), "lte": rfc3339(now)}
        result = self.es.options(ignore_status=404).search(
            index=f"{self.layout.namespace}-logs-auth-*",
            size=MAX_REVOCATIONS,
            allow_no_indices=True,
            ignore_unavailable=True,
            query={
                "bool": {
                    "filter": [
                        {"term": {"event.action": "revoke"}},
                        {"term": {"event.outcome": "success"}},
                        {"range": {"@timestamp": window}},
                    ]
                }
            },
            sort=[{"@timestamp": "asc"}],
            source=False,
            fields=[{"field": f} for f in ("@timestamp", "vigil.auth.jti", "vigil.auth.client_id")],
        )
        facts = []
        for hit in result.get("hits", {}).get("hits", []):
            fields = hit.get("fields", {})
            jti = fields.get("vigil.auth.jti", [hit["_id"]])[0]
            client = fields.get("vigil.auth.client_id", [None])[0]
            facts.append(RevocationFacts(jti=str(jti), revoked_at=fields["@timestamp"][0], client_id=client))
        return Revocations(revocations=tuple(facts))


def _layout(settings: SiemSettings | None) -> IndexLayout | None:
    return IndexLayout(settings) if settings else None


@register(IngestionHealth.kind)
def _ingestion(sources: Sources) -> IngestionCollector | None:
    layout = _layout(sources.siem)
    if sources.es is None or layout is None:
        return None
    return IngestionCollector(sources.es, layout, sources.settings.lookback_days)


@register(Retention.kind)
def _retention(sources: Sources) -> RetentionCollector | None:
    layout = _layout(sources.siem)
    if sources.es is None or layout is None or sources.retention is None:
        return None
    return RetentionCollector(sources.es, layout, sources.retention, sources.settings.lookback_days)


@register(Revocations.kind)
def _revocations(sources: Sources) -> RevocationsCollector | None:
    layout = _layout(sources.siem)
    if sources.es is None or layout is None:
        return None
    return RevocationsCollector(sources.es, layout, sources.settings.lookback_days)
