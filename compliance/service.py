"""The compliance facade: what `vigil` (CLI, API, Celery beat) calls. Clients and sources are injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch
from pydantic import BaseModel, ConfigDict

from compliance.catalog import Catalog, Control, load_catalog
from compliance.collectors import CollectionReport, Sources, collect, load_evidence
from compliance.evaluate import evaluate
from compliance.models import Period, StatusReport
from compliance.oscal import assessment_results, render
from compliance.settings import ComplianceSettings
from compliance.status import AlertSink, StatusHistory, newly_failing, raise_alerts, status_changes
from edgeauth import AuditSink
from evidence import EvidenceItem, EvidenceLocker, canonical_json

STATUS_COLLECTOR = "compliance.status"
HISTORY_COLLECTOR = "compliance.status_history"
OSCAL_COLLECTOR = "compliance.oscal"
# Period-level items are dated just inside the period so a bundle of [from, to) carries them.
_INSIDE = timedelta(milliseconds=1)
# The locker's index keeps milliseconds, so the smallest step that moves a period bound is one millisecond.
_TICK = timedelta(milliseconds=1)


class StatusUpdate(BaseModel):
    model_config = ConfigDict(frozen=True)
    report: StatusReport
    newly_failing: tuple[str, ...]
    alerts_raised: int
    evidence_sequence: int


class Published(BaseModel):
    model_config = ConfigDict(frozen=True)
    period: Period
    status_history: int
    oscal: int
    evaluations: int


class Compliance:
    def __init__(
        self,
        settings: ComplianceSettings,
        es: Elasticsearch,
        locker: EvidenceLocker,
        *,
        sources: Sources | None = None,
        alerts: AlertSink | None = None,
        catalog: Catalog | None = None,
        audit: AuditSink | None = None,
    ) -> None:
        self.settings = settings
        self._audit = audit
        self.locker = locker
        self.catalog = catalog or load_catalog()
        self.sources = sources or Sources(settings=settings, es=es, locker=locker)
        self.alerts = alerts
        self.history_store = StatusHistory(es, settings)

    def controls(self) -> tuple[Control, ...]:
        return self.catalog.in_scope(self.settings.scope)

    def collect(self, *, only: tuple[str, ...] = (), now: datetime | None = None) -> CollectionReport:
        return collect(self.locker, self.sources, catalog=self.catalog, only=only, now=now)

    def evaluate(self, period: Period, *, evaluated_at: datetime | None = None) -> StatusReport:
        """The verdicts of every control in scope from the locker's evidence of the period (no side effects)."""
        evidence = load_evidence(self.locker, period)
        return evaluate(self.catalog, self.settings, evidence, period, evaluated_at or period.end)

    def refresh(self, now: datetime | None = None) -> StatusUpdate:
        """Evaluate the trailing window, keep the result, alert on controls that started failing, lock it in."""
        moment = now or datetime.now(UTC)
        # Periods are half-open; ending a tick after `moment` includes evidence collected at that very instant.
        period = Period(start=moment - timedelta(hours=self.settings.status_window_hours), end=moment + _TICK)
        report = self.evaluate(period, evaluated_at=moment)
        previous = self.history_store.latest_before(moment)
        changed = newly_failing(previous, report)
        self.history_store.store(report)
        if self._audit is not None:
            self._audit.emit(status_changes(previous, report))
        raised = 0
        if self.alerts is not None and self.settings.raise_alerts:
            raised = raise_alerts(self.alerts, changed, report, self.settings.alert_level)
        item = self._append(
            STATUS_COLLECTOR,
            "evaluate(trailing status window)",
            report.model_dump_json().encode(),
            effective_at=moment,
            period=period,
        )
        return StatusUpdate(
            report=report,
            newly_failing=tuple(c.control_id for c in changed),
            alerts_raised=raised,
            evidence_sequence=item.sequence,
        )

    def cycle(self, now: datetime | None = None) -> tuple[CollectionReport, StatusUpdate]:
        """One beat: collect every source in scope, then re-evaluate the trailing window."""
        moment = now or datetime.now(UTC)
        return self.collect(now=moment), self.refresh(moment)

    def latest(self) -> StatusReport | None:
        return self.history_store.latest_before(datetime.now(UTC) + timedelta(seconds=1))

    def history(self, period: Period) -> list[StatusReport]:
        return self.history_store.during(period)

    def oscal(self, period: Period) -> dict[str, object]:
        evidence = load_evidence(self.locker, period)
        report = evaluate(self.catalog, self.settings, evidence, period, period.end)
        return assessment_results(report, evidence)

    def publish(self, period: Period) -> Published:
        """Write the period's status history and its OSCAL assessment results into the locker (bundles carry them)."""
        history = self.history(period)
        inside = period.end - _INSIDE
        history_doc = canonical_json([r.model_dump(mode="json") for r in history])
        history_item = self._append(
            HISTORY_COLLECTOR, "status history of the period", history_doc, effective_at=inside, period=period
        )
        oscal_item = self._append(
            OSCAL_COLLECTOR,
            "OSCAL assessment-results of the period",
            render(self.oscal(period)),
            effective_at=inside,
            period=period,
        )
        return Published(
            period=period,
            status_history=history_item.sequence,
            oscal=oscal_item.sequence,
            evaluations=len(history),
        )

    def _append(
        self, collector: str, query: str, content: bytes, *, effective_at: datetime, period: Period
    ) -> EvidenceItem:
        return self.locker.append(
            collector=collector,
            collector_version=self.settings.collector_version,
            source_system="compliance",
            query=query,
            parameters={
                "from": period.start.isoformat(),
                "to": period.end.isoformat(),
                "scope": list(self.settings.scope),
            },
            effective_at=effective_at,
            control_ids=[c.id for c in self.controls()],
            media_type="application/json",
            content=content,
        )
