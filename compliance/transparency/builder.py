"""Assembling one client's transparency report from the locker, the SLA arithmetic and the alert store.

Called by `Transparency` (the facade the CLI, the API and the console use). Another client's data is kept out
where it is read, not removed from a finished report: canary runs standing for other clients are dropped from the
evidence before any check sees it, and the alert store is asked only for alerts naming this client's identifiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from statistics import mean
from typing import Protocol

from compliance.catalog import Catalog
from compliance.collectors import ClientSource, load_evidence
from compliance.errors import UnknownClientError
from compliance.evaluate import evaluate
from compliance.evidence import Evidence, EvidenceSet
from compliance.models import CheckResult, ControlResult, Outcome, Period
from compliance.settings import ComplianceSettings
from compliance.sla import CanaryRun, SlaAttainment, attainment, runs_in
from compliance.transparency.models import (
    CheckLine,
    CollectorEvidence,
    ControlLine,
    EvidenceDigest,
    EvidenceSummary,
    Incident,
    Incidents,
    Objective,
    ReportPeriod,
    Severity,
    SlaLine,
    TransparencyReport,
)
from detections import Alert, AlertStatus, Level
from evidence import EvidenceLocker

LEVELS = (Level.CRITICAL, Level.HIGH, Level.MEDIUM, Level.LOW, Level.INFORMATIONAL)
TIED_BY = (
    "the client id in an event's token client (vigil.auth.client_id), acting client (client.id) or audit target"
    " (client:<id>)",
    "the OAuth client of a canary standing for the client's tier",
    "a canary burn-rate alert listing the client among its tier's clients",
)


class AlertSource(Protocol):
    """detections' facade: alerts naming some clients, active in a period."""

    def alerts_touching(self, clients: list[str], start: datetime, end: datetime) -> Sequence[Alert]: ...


def scoped_evidence(evidence: EvidenceSet, client: str) -> EvidenceSet:
    """The period's evidence without the canary runs of tiers that do not stand for `client`."""
    return EvidenceSet(e for e in evidence.items if not _others(e, client))


def _others(item: Evidence, client: str) -> bool:
    return isinstance(item.payload, CanaryRun) and client not in item.payload.clients


def build_report(
    client: str,
    period: Period,
    *,
    catalog: Catalog,
    settings: ComplianceSettings,
    locker: EvidenceLocker,
    alerts: AlertSource,
    clients: ClientSource | None,
    now: datetime,
    generator: str,
) -> TransparencyReport:
    evidence = scoped_evidence(load_evidence(locker, period), client)
    runs = runs_in(evidence, period, client=client)
    if not runs and not _registered(clients, client):
        raise UnknownClientError(f"no client {client!r}: neither a registered client nor served by a canary tier")
    status = evaluate(catalog, settings, evidence, period, min(now, period.end))
    tiers = sorted({run.tier for _, run in runs})
    sla = tuple(_sla_line(t, attainment(runs, period, tier=t, client=client)) for t in tiers)
    canaries = sorted({run.canary_client_id for _, run in runs})
    touching = alerts.alerts_touching([client, *canaries], period.start, period.end)
    controls = tuple(_control_line(c, catalog) for c in status.controls)
    used = {n for c in controls for check in c.checks for n in check.evidence} | {n for s in sla for n in s.evidence}
    return TransparencyReport(
        client=client,
        period=ReportPeriod(start=period.start, end=period.end),
        generated_at=now,
        generator=generator,
        tiers=tuple(tiers),
        findings=_findings(controls, sla),
        controls=controls,
        sla=sla,
        incidents=_incidents(touching),
        evidence=_digests(locker, period, used),
    )


def _registered(clients: ClientSource | None, client: str) -> bool:
    return clients is not None and any(c.client_id == client for c in clients.list_clients())


def _check_line(verdict: CheckResult, catalog: Catalog) -> CheckLine:
    # A failing check's findings can name other clients (an unreviewed client, an alert's group): counted here,
    # quoted only in the auditor's bundle. Passing and missing-evidence reasons are the check's own fixed words.
    quoted = verdict.outcome is not Outcome.FAIL or not verdict.findings
    return CheckLine(
        check_id=verdict.check_id,
        title=catalog.checks[verdict.check_id].title,
        outcome=verdict.outcome,
        reason=verdict.reason if quoted else f"{len(verdict.findings)} finding(s)",
        findings=len(verdict.findings),
        thresholds={k: v for k, v in verdict.thresholds.items() if isinstance(v, int | float | str | bool)},
        evidence=tuple(int(i) for i in verdict.evidence_ids if i.isdigit()),
    )


def _control_line(control: ControlResult, catalog: Catalog) -> ControlLine:
    checks = tuple(_check_line(v, catalog) for v in control.verdicts)
    shown = [c for c in checks if c.outcome is control.outcome] or list(checks)
    return ControlLine(
        control_id=control.control_id,
        framework=control.framework,
        summary=control.summary,
        outcome=control.outcome,
        reason="; ".join(f"{c.check_id}: {c.reason}" for c in shown),
        checks=checks,
    )


def _sla_line(tier: str, result: SlaAttainment) -> SlaLine:
    objectives = []
    if result.availability_objective_percent is not None:
        attained = "-" if result.availability_percent is None else f"{result.availability_percent:.3f}%"
        objectives.append(
            Objective(
                name="availability",
                promised=f">= {result.availability_objective_percent:g}% of probes good",
                attained=attained,
                met=result.availability_met,
            )
        )
    if result.latency_objective_ms is not None and result.latency_objective_percentile is not None:
        attained = "-" if result.latency_percent is None else f"{result.latency_percent:.2f}% within"
        if result.observed_latency_ms is not None:
            attained += f" (p{result.latency_objective_percentile:g} {result.observed_latency_ms:.0f} ms)"
        objectives.append(
            Objective(
                name="latency",
                promised=(
                    f"p{result.latency_objective_percentile:g} request latency <= {result.latency_objective_ms:g} ms"
                ),
                attained=attained,
                met=result.latency_met,
            )
        )
    return SlaLine(
        tier=tier,
        status=result.status,
        runs=result.runs,
        probes=result.probes,
        good_probes=result.good_probes,
        availability_percent=result.availability_percent,
        availability_objective_percent=result.availability_objective_percent,
        latency_percent=result.latency_percent,
        latency_objective_ms=result.latency_objective_ms,
        latency_objective_percentile=result.latency_objective_percentile,
        observed_latency_ms=result.observed_latency_ms,
        error_budget_consumed=result.error_budget_consumed,
        objectives=tuple(objectives),
        misses=tuple(result.misses()),
        failures=result.failures,
        evidence=tuple(int(ref.id) for ref in result.evidence if ref.id.isdigit()),
    )


def _findings(controls: tuple[ControlLine, ...], sla: tuple[SlaLine, ...]) -> tuple[str, ...]:
    # One finding per missed tier (as the availability check words it), naming every objective it missed.
    out = [f"SLA missed on tier {s.tier}: {'; '.join(s.misses)}" for s in sla if s.misses]
    out.extend(f"SLA not measured on tier {s.tier}: no canary probe in the period" for s in sla if s.probes == 0)
    out.extend(
        f"control {c.control_id} ({c.framework}) failing: {c.reason}" for c in controls if c.outcome is Outcome.FAIL
    )
    return tuple(out)


def handled_at(alert: Alert) -> tuple[datetime | None, datetime | None]:
    """When the alert was first acknowledged (or resolved without one) and finally resolved, from its triage
    history; the stored timestamps stand in for alerts triaged before transitions were kept."""
    first = next((t.at for t in alert.transitions if t.to_status is not AlertStatus.NEW), None)
    resolved = None
    if alert.status is AlertStatus.RESOLVED:
        resolved = next(
            (t.at for t in reversed(alert.transitions) if t.to_status is AlertStatus.RESOLVED), alert.resolved_at
        )
    return first or alert.acknowledged_at or resolved, resolved


def _seconds(moment: datetime | None, since: datetime) -> float | None:
    return None if moment is None else max((moment - since).total_seconds(), 0.0)


def _incidents(alerts: Sequence[Alert]) -> Incidents:
    rows = []
    for alert in alerts:
        acknowledged, resolved = handled_at(alert)
        rows.append(
            Incident(
                alert_id=alert.id,
                level=alert.level.value,
                title=alert.rule_title,
                category=alert.category,
                first_seen=alert.first_seen,
                last_seen=alert.last_seen,
                status=alert.status.value,
                verdict=alert.verdict.value if alert.verdict else None,
                seconds_to_acknowledge=_seconds(acknowledged, alert.created),
                seconds_to_resolve=_seconds(resolved, alert.created),
            )
        )
    return Incidents(tied_by=TIED_BY, by_severity=tuple(_severity(level, rows) for level in LEVELS), alerts=tuple(rows))


def _severity(level: Level, rows: list[Incident]) -> Severity:
    mine = [r for r in rows if r.level == level.value]
    to_ack = [r.seconds_to_acknowledge for r in mine if r.seconds_to_acknowledge is not None]
    to_resolve = [r.seconds_to_resolve for r in mine if r.seconds_to_resolve is not None]
    return Severity(
        level=level.value,
        alerts=len(mine),
        open=sum(1 for r in mine if r.status != AlertStatus.RESOLVED.value),
        acknowledged=len(to_ack),
        resolved=len(to_resolve),
        mean_seconds_to_acknowledge=mean(to_ack) if to_ack else None,
        max_seconds_to_acknowledge=max(to_ack) if to_ack else None,
        mean_seconds_to_resolve=mean(to_resolve) if to_resolve else None,
        max_seconds_to_resolve=max(to_resolve) if to_resolve else None,
    )


def _digests(locker: EvidenceLocker, period: Period, used: set[int]) -> EvidenceSummary:
    """The digests of every item a verdict or an SLA figure rests on, read in one pass over the period."""
    items = tuple(
        EvidenceDigest(
            sequence=item.sequence,
            collector=item.collector,
            effective_at=item.effective_at,
            sha256=item.sha256,
            record_digest=item.record_digest,
            entry_hash=item.entry_hash,
        )
        for item in locker.items(period.start, period.end, as_of=period.end)
        if item.sequence in used
    )
    head = locker.head()
    groups: dict[str, list[int]] = {}
    for item in items:
        groups.setdefault(item.collector, []).append(item.sequence)
    return EvidenceSummary(
        chain_head_sequence=head.sequence if head else None,
        chain_head=head.entry_hash if head else None,
        by_collector=tuple(
            CollectorEvidence(collector=name, items=len(seqs), first_sequence=min(seqs), last_sequence=max(seqs))
            for name, seqs in sorted(groups.items())
        ),
        items=items,
    )
