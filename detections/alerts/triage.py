"""Triage: new -> acknowledged -> resolved (with a verdict); assignee and notes; every change recorded.

Each change is kept on the alert (its transitions and notes) and handed to the audit sink as a `configuration`
event, so triage is visible to the SIEM like any other change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from detections.alerts.store import AlertStore, from_hit
from detections.errors import DetectionsError, TriageError
from detections.models import Alert, AlertStatus, Note, Transition, Verdict
from edgeauth import AuditEvent, AuditSink

ALLOWED: dict[AlertStatus, set[AlertStatus]] = {
    AlertStatus.NEW: {AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED},
    AlertStatus.ACKNOWLEDGED: {AlertStatus.RESOLVED},
    AlertStatus.RESOLVED: set(),
}


def _move(
    alert: Alert,
    to: AlertStatus,
    actor: str,
    now: datetime,
    *,
    verdict: Verdict | None = None,
    assignee: str | None = None,
    note: str | None = None,
) -> None:
    if to not in ALLOWED[alert.status]:
        raise TriageError(f"alert {alert.id} is {alert.status.value}; it cannot become {to.value}")
    alert.transitions.append(
        Transition(
            actor=actor,
            at=now,
            from_status=alert.status,
            to_status=to,
            verdict=verdict,
            assignee=assignee,
            note=note,
        )
    )
    alert.status = to
    alert.updated = now


def _state(alert: Alert) -> dict[str, Any]:
    return {
        "status": alert.status.value,
        "verdict": alert.verdict.value if alert.verdict else None,
        "assignee": alert.assignee,
        "notes": len(alert.notes),
    }


class Triage:
    def __init__(self, store: AlertStore, audit: AuditSink | None = None) -> None:
        self.store = store
        self._audit = audit

    def _save(self, alert: Alert, hit: dict[str, Any], action: str, actor: str, now: datetime) -> None:
        before = _state(from_hit(hit))
        self.store.save(alert, hit)
        if self._audit is not None:
            self._audit.emit(
                [
                    AuditEvent(
                        timestamp=now,
                        provider="detections",
                        action=action,
                        category="configuration",
                        actor=actor,
                        target=f"alert:{alert.id}",
                        reason=alert.rule_title,
                        before=before,
                        after=_state(alert),
                    )
                ]
            )

    def acknowledge(
        self, alert_id: str, actor: str, now: datetime, *, note: str | None = None, assignee: str | None = None
    ) -> Alert:
        hit = self.store.get_hit(alert_id)
        alert = from_hit(hit)
        _move(alert, AlertStatus.ACKNOWLEDGED, actor, now, note=note, assignee=assignee or actor)
        alert.acknowledged_at = now
        alert.assignee = assignee or alert.assignee or actor
        if note:
            alert.notes.append(Note(actor=actor, at=now, text=note))
        self._save(alert, hit, "alert-acknowledged", actor, now)
        return alert

    def resolve(self, alert_id: str, actor: str, now: datetime, verdict: Verdict, *, note: str | None = None) -> Alert:
        hit = self.store.get_hit(alert_id)
        alert = from_hit(hit)
        _move(alert, AlertStatus.RESOLVED, actor, now, verdict=verdict, note=note)
        alert.verdict = verdict
        alert.resolved_at = now
        if alert.acknowledged_at is None:
            alert.acknowledged_at = now
        if note:
            alert.notes.append(Note(actor=actor, at=now, text=note))
        self._save(alert, hit, "alert-resolved", actor, now)
        return alert

    def assign(self, alert_id: str, actor: str, now: datetime, assignee: str | None) -> Alert:
        hit = self.store.get_hit(alert_id)
        alert = from_hit(hit)
        alert.transitions.append(
            Transition(actor=actor, at=now, from_status=alert.status, to_status=alert.status, assignee=assignee)
        )
        alert.assignee = assignee
        alert.updated = now
        self._save(alert, hit, "alert-assigned", actor, now)
        return alert

    def note(self, alert_id: str, actor: str, now: datetime, text: str) -> Alert:
        hit = self.store.get_hit(alert_id)
        alert = from_hit(hit)
        alert.notes.append(Note(actor=actor, at=now, text=text))
        alert.updated = now
        self._save(alert, hit, "alert-noted", actor, now)
        return alert

    def bulk_acknowledge(self, ids: list[str], actor: str, now: datetime, note: str | None = None) -> dict[str, str]:
        """Acknowledge each id; the answer maps every id to 'acknowledged' or the one-line reason it was not."""
        outcome: dict[str, str] = {}
        for alert_id in dict.fromkeys(ids):
            try:
                self.acknowledge(alert_id, actor, now, note=note)
                outcome[alert_id] = "acknowledged"
            except DetectionsError as exc:
                outcome[alert_id] = str(exc)
        return outcome
