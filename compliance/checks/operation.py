"""Checks on the compliance programme itself: collections kept their interval, thresholds were not loosened."""

from __future__ import annotations

import itertools
from datetime import timedelta

from compliance.checks.registry import CheckContext, conclude, register, span, stamp
from compliance.evidence import ComplianceConfig, Evidence
from compliance.models import CheckResult
from compliance.settings import Thresholds

# Raising these makes a check stricter; for every other threshold, raising it loosens the control.
_STRICTER_WHEN_RAISED = frozenset({"retention_policy_days"})


@register("operation.collection_continuity")
def operation_collection_continuity(ctx: CheckContext) -> CheckResult:
    allowed = timedelta(seconds=ctx.thresholds.collection_interval_seconds + ctx.thresholds.collection_grace_seconds)
    grouped = ctx.evidence.kinds()
    used: list[Evidence] = []
    findings: list[str] = []
    for collector in ctx.expected_collectors:
        times = [e.effective_at for e in grouped.get(collector, []) if ctx.period.contains(e.effective_at)]
        used.extend(e for e in grouped.get(collector, []) if ctx.period.contains(e.effective_at))
        points = [ctx.period.start, *times, ctx.period.end]
        for before, after in itertools.pairwise(points):
            if after - before > allowed:
                findings.append(
                    f"{collector}: no collection from {stamp(before)} to {stamp(after)} ({span(after - before)})"
                )
    return conclude(
        "operation.collection_continuity",
        ctx,
        used,
        findings,
        limits=["collection_interval_seconds", "collection_grace_seconds"],
        ok=f"all {len(ctx.expected_collectors)} collector(s) ran at least every {span(allowed)}",
        missing="no collection at all in the period",
    )


@register("operation.thresholds_stable")
def operation_thresholds_stable(ctx: CheckContext) -> CheckResult:
    configs = [(e, c) for e, c in ctx.evidence.of(ComplianceConfig) if ctx.period.contains(e.effective_at)]
    findings: list[str] = []
    for (_, before), (evidence, after) in itertools.pairwise(configs):
        findings.extend(f"{f} at {stamp(evidence.effective_at)}" for f in loosened(before.thresholds, after.thresholds))
        dropped = sorted(set(before.scope) - set(after.scope)) if before.scope else []
        if not before.scope and after.scope:
            findings.append(f"scope narrowed from the whole catalog to {len(after.scope)} control(s)")
        elif dropped:
            findings.append(f"control(s) {', '.join(dropped)} left the scope at {stamp(evidence.effective_at)}")
    return conclude(
        "operation.thresholds_stable",
        ctx,
        [e for e, _ in configs],
        findings,
        limits=[],
        ok=f"thresholds and scope held across {len(configs)} collection(s)",
        missing="no record of the thresholds in force in the period",
    )


def loosened(before: Thresholds, after: Thresholds) -> list[str]:
    """Every threshold that moved in the permissive direction, named with both values."""
    changes: list[str] = []
    for name in Thresholds.model_fields:
        old, new = getattr(before, name), getattr(after, name)
        if old == new:
            continue
        if (new < old) if name in _STRICTER_WHEN_RAISED else (new > old):
            changes.append(f"{name} loosened from {old} to {new}")
    return changes
