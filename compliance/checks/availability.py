"""Checks on availability commitments: each canary tier's SLA attainment over the period (`compliance.sla`)."""

from __future__ import annotations

from datetime import timedelta

from compliance.checks.registry import CheckContext, conclude, register, span
from compliance.models import CheckResult
from compliance.sla import attainment, runs_in

#: A canary silent for this many of its intervals leaves the period unmeasured: a finding, not a pass.
SILENT_INTERVALS = 3


@register("availability.sla_attained")
def availability_sla_attained(ctx: CheckContext) -> CheckResult:
    runs = runs_in(ctx.evidence, ctx.period)
    tiers = sorted({run.tier for _, run in runs})
    findings: list[str] = []
    attained: list[str] = []
    thresholds: dict[str, object] = {}
    for tier in tiers:
        result = attainment(runs, ctx.period, tier=tier)
        clients = sorted({c for _, run in runs if run.tier == tier for c in run.clients})
        interval = max(run.interval_seconds for _, run in runs if run.tier == tier)
        thresholds[tier] = {
            "clients": clients,
            "objectives": [o.model_dump() for o in result.objectives_in_force],
            "silent_after_seconds": SILENT_INTERVALS * interval,
        }
        who = f"tier {tier} ({', '.join(clients)})"
        if misses := result.misses():
            findings.append(f"{who}: SLA missed: {'; '.join(misses)}")
        if result.longest_gap_seconds is not None and result.longest_gap_seconds > SILENT_INTERVALS * interval:
            gap = span(timedelta(seconds=result.longest_gap_seconds))
            findings.append(f"{who}: canary silent for {gap}, over {SILENT_INTERVALS} intervals of {interval}s")
        attained.append(
            f"{tier} {result.availability_percent:.3f}% available"
            + ("" if result.latency_percent is None else f", {result.latency_percent:.2f}% within latency")
        )
    verdict = conclude(
        "availability.sla_attained",
        ctx,
        [e for e, _ in runs],
        findings,
        limits=[],
        ok=f"every tier met its objectives ({'; '.join(attained)})",
        missing="no canary evidence in the period: availability commitments were not measured",
    )
    return verdict.model_copy(update={"thresholds": thresholds})
