"""Collectors of detections: rule health (enabled rules, run history, failures) and alert triage times.

Rules and runs come from detections' facade (`rules()`, `run_history()`); alerts are read from the alert index
agreed between packages (`{prefix}-alerts`), whose documents carry `created`, `acknowledged_at` and `level`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from elasticsearch import Elasticsearch

from compliance.collectors.base import Sources, register
from compliance.collectors.sources import RuleSource
from compliance.evidence import AlertFacts, AlertTriage, RuleFacts, RuleHealth, TriageSummary
from siem import rfc3339

MAX_RECORDS = 10_000


@dataclass
class RulesCollector:
    name: ClassVar[str] = RuleHealth.kind
    source_system: ClassVar[str] = "detections"
    query: ClassVar[str] = "detections rules() and run_history(since=now-lookback_days), oldest run first"
    source: RuleSource
    lookback_days: int

    def parameters(self) -> dict[str, Any]:
        return {"lookback_days": self.lookback_days, "limit": MAX_RECORDS}

    def collect(self, now: datetime) -> RuleHealth:
        since = now - timedelta(days=self.lookback_days)
        runs = sorted(self.source.run_history(since=since, limit=MAX_RECORDS), key=lambda r: (r.started, r.rule_id))
        state: dict[str, dict[str, Any]] = {}
        for run in runs:
            if run.started > now:
                continue
            rule = state.setdefault(run.rule_id, {"last_run_at": None, "last_success_at": None})
            rule["last_run_at"] = run.started
            if run.error:
                rule.setdefault("failing_since", run.started)
                rule["last_error"] = run.error[:500]
            else:
                rule["last_success_at"] = run.started
                rule.pop("failing_since", None)
                rule.pop("last_error", None)
        known = {r.id: r for r in self.source.rules()}
        facts = [
            RuleFacts(
                rule_id=rule_id,
                title=known[rule_id].title if rule_id in known else "",
                enabled=known[rule_id].enabled if rule_id in known else False,
                **state.get(rule_id, {}),
            )
            for rule_id in sorted(set(state) | set(known))
        ]
        return RuleHealth(rules=tuple(facts))


@dataclass
class AlertsCollector:
    name: ClassVar[str] = AlertTriage.kind
    source_system: ClassVar[str] = "detections"
    query: ClassVar[str] = "{alerts_index} where created in [now-lookback_days, now], oldest first"
    es: Elasticsearch
    index: str
    lookback_days: int

    def parameters(self) -> dict[str, Any]:
        return {"alerts_index": self.index, "lookback_days": self.lookback_days, "limit": MAX_RECORDS}

    def collect(self, now: datetime) -> AlertTriage:
        since = now - timedelta(days=self.lookback_days)
        result = self.es.options(ignore_status=404).search(
            index=self.index,
            size=MAX_RECORDS,
            allow_no_indices=True,
            ignore_unavailable=True,
            query={"range": {"created": {"gte": rfc3339(since), "lte": rfc3339(now)}}},
            sort=[{"created": "asc"}],
        )
        alerts = tuple(
            AlertFacts(
                alert_id=str(hit["_source"].get("id") or hit["_id"]),
                level=str(hit["_source"].get("level", "")),
                category=str(hit["_source"].get("category", "detection")),
                created_at=hit["_source"]["created"],
                acknowledged_at=hit["_source"].get("acknowledged_at"),
                status=str(hit["_source"].get("status", "new")),
            )
            for hit in result.get("hits", {}).get("hits", [])
        )
        return AlertTriage(window_from=since, window_to=now, alerts=alerts, by_level=triage_times(alerts))


def triage_times(alerts: tuple[AlertFacts, ...]) -> tuple[TriageSummary, ...]:
    summaries = []
    for level in sorted({a.level for a in alerts}):
        waits = [
            (a.acknowledged_at - a.created_at).total_seconds()
            for a in alerts
            if a.level == level and a.acknowledged_at is not None
        ]
        summaries.append(
            TriageSummary(
                level=level,
                alerts=sum(1 for a in alerts if a.level == level),
                acknowledged=len(waits),
                mean_seconds_to_ack=sum(waits) / len(waits) if waits else None,
                max_seconds_to_ack=max(waits) if waits else None,
            )
        )
    return tuple(summaries)


@register(RuleHealth.kind)
def _rules(sources: Sources) -> RulesCollector | None:
    return RulesCollector(sources.detections, sources.settings.lookback_days) if sources.detections else None


@register(AlertTriage.kind)
def _alerts(sources: Sources) -> AlertsCollector | None:
    if sources.es is None or sources.alerts_index is None:
        return None
    return AlertsCollector(sources.es, sources.alerts_index, sources.settings.lookback_days)
