"""From evidence to control status: run every check of every control in scope, worst verdict wins."""

from __future__ import annotations

from datetime import datetime

from compliance.catalog import Catalog, Control
from compliance.checks import CheckContext, run_check
from compliance.evidence import EvidenceSet
from compliance.models import CheckResult, ControlResult, Outcome, Period, StatusReport
from compliance.settings import ComplianceSettings


def context_for(
    catalog: Catalog, controls: tuple[Control, ...], evidence: EvidenceSet, period: Period, settings: ComplianceSettings
) -> CheckContext:
    return CheckContext(
        period=period,
        evidence=evidence,
        thresholds=settings.thresholds,
        privileged_roles=settings.privileged_roles,
        privileged_scopes=settings.privileged_scopes,
        expected_collectors=catalog.collectors_for(controls),
    )


def evaluate(
    catalog: Catalog, settings: ComplianceSettings, evidence: EvidenceSet, period: Period, evaluated_at: datetime
) -> StatusReport:
    """Deterministic in its inputs: the same catalog, settings, evidence and period give the same report."""
    controls = catalog.in_scope(settings.scope)
    context = context_for(catalog, controls, evidence, period, settings)
    needed = sorted({check for control in controls for check in control.checks})
    verdicts = {check: run_check(check, context) for check in needed}
    results = tuple(control_result(control, tuple(verdicts[c] for c in control.checks)) for control in controls)
    return StatusReport(period=period, evaluated_at=evaluated_at, evidence_count=len(evidence), controls=results)


def control_result(control: Control, verdicts: tuple[CheckResult, ...]) -> ControlResult:
    failed = [v for v in verdicts if v.outcome is Outcome.FAIL]
    passed = [v for v in verdicts if v.outcome is Outcome.PASS]
    if failed:
        outcome = Outcome.FAIL
        reason = "; ".join(f"{v.check_id}: {v.reason}" for v in failed)
    elif passed:
        outcome = Outcome.PASS
        reason = "; ".join(f"{v.check_id}: {v.reason}" for v in passed)
    else:
        outcome = Outcome.NOT_APPLICABLE
        reason = "; ".join(f"{v.check_id}: {v.reason}" for v in verdicts)
    return ControlResult(
        control_id=control.id,
        framework=control.framework,
        summary=control.summary,
        outcome=outcome,
        reason=reason,
        verdicts=verdicts,
    )
