"""Checks on logging and detection: sources active, dead letter, retention, rule health, alert triage SLA."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from compliance.checks.registry import CheckContext, conclude, not_applicable, register, span, stamp
from compliance.evidence import AlertFacts, AlertTriage, Evidence, IngestionHealth, Retention, RuleHealth
from compliance.models import CheckResult


@register("logging.sources_active")
def logging_sources_active(ctx: CheckContext) -> CheckResult:
    limit = timedelta(hours=ctx.thresholds.source_silence_hours)
    used: list[Evidence] = []
    silent: dict[str, str] = {}
    findings: list[str] = []
    for evidence, health in ctx.evidence.of(IngestionHealth):
        if not ctx.period.contains(evidence.effective_at):
            continue
        used.append(evidence)
        if not health.sources:
            findings.append(f"no log source known at {stamp(evidence.effective_at)}")
        for source in health.sources:
            name = f"{source.dataset}/{source.service}"
            if name in silent:
                continue
            if source.last_event_at is None:
                silent[name] = f"source {name} sent nothing before {stamp(evidence.effective_at)}"
            elif evidence.effective_at - source.last_event_at > limit:
                gap = span(evidence.effective_at - source.last_event_at)
                silent[name] = f"source {name} silent for {gap} at {stamp(evidence.effective_at)}"
    return conclude(
        "logging.sources_active",
        ctx,
        used,
        [*silent.values(), *findings],
        limits=["source_silence_hours"],
        ok=f"every log source sent within {ctx.thresholds.source_silence_hours}h at each collection",
    )


@register("logging.dead_letter")
def logging_dead_letter(ctx: CheckContext) -> CheckResult:
    limit = ctx.thresholds.max_deadletter_24h
    used: list[Evidence] = []
    findings: list[str] = []
    for evidence, health in ctx.evidence.of(IngestionHealth):
        if not ctx.period.contains(evidence.effective_at):
            continue
        used.append(evidence)
        if health.deadletter_24h > limit:
            findings.append(
                f"{health.deadletter_24h} event(s) dead-lettered in the 24h before {stamp(evidence.effective_at)},"
                f" over {limit}"
            )
    return conclude(
        "logging.dead_letter",
        ctx,
        used,
        findings,
        limits=["max_deadletter_24h"],
        ok=f"dead-lettered events stayed at or under {limit} per 24h",
    )


@register("logging.retention")
def logging_retention(ctx: CheckContext) -> CheckResult:
    policy = ctx.thresholds.retention_policy_days
    used: list[Evidence] = []
    findings: list[str] = []
    for evidence, retention in ctx.evidence.of(Retention):
        if not ctx.period.contains(evidence.effective_at):
            continue
        used.append(evidence)
        if retention.retention_days < policy:
            findings.append(
                f"retention set to {retention.retention_days}d at {stamp(evidence.effective_at)}, under {policy}d"
            )
        for deletion in retention.deletions:
            kept = _days_kept(deletion.index_day, deletion.timestamp)
            if kept is not None and kept < policy:
                findings.append(f"index {deletion.index} deleted after {kept}d, under {policy}d")
    return conclude(
        "logging.retention",
        ctx,
        used,
        findings,
        limits=["retention_policy_days"],
        ok=f"retention was at least {policy}d and no younger index was deleted",
    )


def _days_kept(index_day: str, deleted_at: datetime) -> int | None:
    try:
        day = date.fromisoformat(index_day.replace(".", "-"))
    except ValueError:
        return None
    return (deleted_at.date() - day).days


@register("detections.rules_healthy")
def detections_rules_healthy(ctx: CheckContext) -> CheckResult:
    limit = timedelta(hours=ctx.thresholds.rule_failure_max_hours)
    used: list[Evidence] = []
    findings: list[str] = []
    failing: dict[str, str] = {}
    for evidence, health in ctx.evidence.of(RuleHealth):
        if not ctx.period.contains(evidence.effective_at):
            continue
        used.append(evidence)
        enabled = [r for r in health.rules if r.enabled]
        if not enabled:
            findings.append(f"no rule enabled at {stamp(evidence.effective_at)}")
        for rule in enabled:
            if rule.failing_since is None or rule.rule_id in failing:
                continue
            age = evidence.effective_at - rule.failing_since
            if age > limit:
                error = f": {rule.last_error}" if rule.last_error else ""
                failing[rule.rule_id] = f"rule {rule.rule_id} failing for {span(age)}{error}"
    return conclude(
        "detections.rules_healthy",
        ctx,
        used,
        [*failing.values(), *findings],
        limits=["rule_failure_max_hours"],
        ok=f"rules were enabled and none failed for more than {span(limit)}",
    )


@register("detections.alert_ack_sla")
def detections_alert_ack_sla(ctx: CheckContext) -> CheckResult:
    used: list[Evidence] = []
    latest: dict[str, tuple[datetime, AlertFacts]] = {}
    for evidence, triage in ctx.evidence.of(AlertTriage):
        if not ctx.period.contains(evidence.effective_at):
            continue
        used.append(evidence)
        for alert in triage.alerts:
            if ctx.thresholds.ack_sla_minutes(alert.level) is not None and _open_during(alert, ctx):
                latest[alert.alert_id] = (evidence.effective_at, alert)
    limits = ["ack_sla_minutes_critical", "ack_sla_minutes_high"]
    if used and not latest:
        return not_applicable(
            "detections.alert_ack_sla", ctx, used, "no high or critical alert was open in the period", limits=limits
        )
    findings: list[str] = []
    for alert_id in sorted(latest):
        seen_at, alert = latest[alert_id]
        sla = timedelta(minutes=ctx.thresholds.ack_sla_minutes(alert.level) or 0)
        if alert.acknowledged_at is not None:
            waited = alert.acknowledged_at - alert.created_at
            if waited > sla:
                findings.append(f"{alert.level} alert {alert_id} acknowledged after {span(waited)}, SLA {span(sla)}")
        elif seen_at - alert.created_at > sla:
            waited = seen_at - alert.created_at
            findings.append(f"{alert.level} alert {alert_id} unacknowledged for {span(waited)}, SLA {span(sla)}")
    return conclude(
        "detections.alert_ack_sla",
        ctx,
        used,
        findings,
        limits=limits,
        ok=f"all {len(latest)} high/critical alert(s) were acknowledged within their SLA",
    )


def _open_during(alert: AlertFacts, ctx: CheckContext) -> bool:
    """Raised in the period, or raised before it and still unacknowledged when it began."""
    if alert.created_at >= ctx.period.end:
        return False
    return (
        alert.created_at >= ctx.period.start
        or alert.acknowledged_at is None
        or (alert.acknowledged_at >= ctx.period.start)
    )
