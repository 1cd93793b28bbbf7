"""Triage: new -> acknowledged -> resolved (with a verdict); assignee and notes; every change recorded."""

from __future__ import annotations

from datetime import datetime

from detections.alerts.store import AlertStore, from_hit
from detections.errors import DetectionsError, TriageError
from detections.models import Alert, AlertStatus, Note, Transition, Verdict

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


class Triage:
    def __init__(self, store: AlertStore) -> None:
        self.store = store

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
        self.store.save(alert, hit)
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
        self.store.save(alert, hit)
        return alert

    def assign(self, alert_id: str, actor: str, now: datetime, assignee: str | None) -> Alert:
        hit = self.store.get_hit(alert_id)
        alert = from_hit(hit)
        alert.transitions.append(
            Transition(actor=actor, at=now, from_status=alert.status, to_status=alert.status, assignee=assignee)
        )
        alert.assignee = assignee
        alert.updated = now
        self.store.save(alert, hit)
        return alert

    def note(self, alert_id: str, actor: str, now: datetime, text: str) -> Alert:
        hit = self.store.get_hit(alert_id)
        alert = from_hit(hit)
        alert.notes.append(Note(actor=actor, at=now, text=text))
        alert.updated = now
        self.store.save(alert, hit)
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
