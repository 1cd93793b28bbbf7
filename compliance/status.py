"""Continuous status: every evaluation is kept in `{prefix}-compliance-status`; a control that starts failing
raises an alert (category compliance) through detections.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from elasticsearch import Elasticsearch

from compliance.models import ControlResult, Outcome, Period, StatusReport
from compliance.settings import ComplianceSettings
from edgeauth import AuditEvent
from siem import rfc3339

STATUS_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "evaluated_at": {"type": "date"},
        "period_start": {"type": "date"},
        "period_end": {"type": "date"},
        "failing": {"type": "keyword"},
        "passing": {"type": "keyword"},
        "not_applicable": {"type": "keyword"},
        "report": {"type": "keyword", "index": False, "doc_values": False},
    },
}

_HISTORY_LIMIT = 10_000


class AlertSink(Protocol):
    """detections' `raise_alert`: the same key and group update one open alert instead of piling up."""

    def raise_alert(
        self,
        *,
        key: str,
        title: str,
        level: Any,
        summary: str,
        group_key: str,
        evidence: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> object: ...


def index_templates(settings: ComplianceSettings) -> list[dict[str, Any]]:
    """The index compliance owns, as data (an Elasticsearch index template): `vigil` applies it."""
    name = settings.status_index
    return [
        {
            "name": name,
            "index_patterns": [name],
            "template": {"mappings": STATUS_MAPPINGS},
            "meta": {"owner": "compliance"},
        }
    ]


class StatusHistory:
    """Evaluations over time, oldest first; the latest one before a new evaluation tells what changed."""

    def __init__(self, es: Elasticsearch, settings: ComplianceSettings) -> None:
        self.es = es
        self.index = settings.status_index

    def store(self, report: StatusReport) -> None:
        self.es.index(
            index=self.index,
            id=rfc3339(report.evaluated_at),
            document={
                "evaluated_at": rfc3339(report.evaluated_at),
                "period_start": rfc3339(report.period.start),
                "period_end": rfc3339(report.period.end),
                "failing": [c.control_id for c in report.controls if c.outcome is Outcome.FAIL],
                "passing": [c.control_id for c in report.controls if c.outcome is Outcome.PASS],
                "not_applicable": [c.control_id for c in report.controls if c.outcome is Outcome.NOT_APPLICABLE],
                "report": report.model_dump_json(),
            },
            refresh="wait_for",
        )

    def latest_before(self, moment: datetime) -> StatusReport | None:
        found = self._search({"range": {"evaluated_at": {"lt": rfc3339(moment)}}}, "desc", 1)
        return found[0] if found else None

    def during(self, period: Period) -> list[StatusReport]:
        """Every evaluation made inside the period, oldest first."""
        window = {"gte": rfc3339(period.start), "lt": rfc3339(period.end)}
        return self._search({"range": {"evaluated_at": window}}, "asc", _HISTORY_LIMIT)

    def _search(self, query: dict[str, Any], order: str, size: int) -> list[StatusReport]:
        result = self.es.search(index=self.index, query=query, sort=[{"evaluated_at": order}], size=size)
        return [StatusReport.model_validate_json(hit["_source"]["report"]) for hit in result["hits"]["hits"]]


def newly_failing(previous: StatusReport | None, current: StatusReport) -> list[ControlResult]:
    """Controls failing now that were not failing at the previous evaluation (all failing ones at the first)."""
    before = {c.control_id for c in previous.controls if c.outcome is Outcome.FAIL} if previous else set()
    return [c for c in current.controls if c.outcome is Outcome.FAIL and c.control_id not in before]


def status_changes(previous: StatusReport | None, current: StatusReport) -> list[AuditEvent]:
    """One audit event per control whose outcome differs from the previous evaluation (every control at the first)."""
    before = {c.control_id: c.outcome for c in previous.controls} if previous else {}
    return [
        AuditEvent(
            timestamp=current.evaluated_at,
            provider="compliance",
            action="control-status-changed",
            category="configuration",
            target=f"control:{c.control_id}",
            reason=c.reason[:1024],
            trigger="schedule",
            before={"outcome": before[c.control_id].value} if c.control_id in before else None,
            after={"outcome": c.outcome.value, "framework": c.framework},
        )
        for c in current.controls
        if before.get(c.control_id) is not c.outcome
    ]


def raise_alerts(sink: AlertSink, failing: list[ControlResult], report: StatusReport, level: str) -> int:
    for control in failing:
        sink.raise_alert(
            key=f"control-{control.control_id}",
            title=f"Compliance control {control.control_id} started failing",
            level=level,
            summary=control.reason[:1000],
            group_key=control.control_id,
            evidence={
                "control_id": control.control_id,
                "framework": control.framework,
                "evaluated_at": rfc3339(report.evaluated_at),
                "checks": {v.check_id: v.outcome.value for v in control.verdicts},
                "evidence_ids": sorted(
                    {i for v in control.verdicts for i in v.evidence_ids}, key=lambda i: (len(i), i)
                ),
            },
            tags=["compliance", f"compliance.{control.framework}"],
        )
    return len(failing)


def _by_sequence(evidence_id: str) -> tuple[int, str]:
    return len(evidence_id), evidence_id
