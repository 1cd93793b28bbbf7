"""Checks on identity and cryptography: key rotation, algorithms, token lifetime, privileged access review."""

from __future__ import annotations

from datetime import timedelta

from compliance.checks.registry import CheckContext, conclude, not_applicable, register, span, stamp
from compliance.evidence import ClientRegistry, Evidence, SigningKeyInventory, TokenPolicy
from compliance.models import CheckResult


def weak_algorithm(alg: str) -> bool:
    """HMAC (shared-secret) algorithms and `none` let anyone holding the verifier's secret, or no one, sign."""
    lowered = alg.strip().lower()
    return lowered == "none" or lowered.startswith("hs") or not lowered


@register("keys.rotation_age")
def keys_rotation_age(ctx: CheckContext) -> CheckResult:
    limit = timedelta(days=ctx.thresholds.key_rotation_days)
    used: list[Evidence] = []
    findings: list[str] = []
    overdue: dict[str, str] = {}
    for evidence, snap in ctx.evidence.of(SigningKeyInventory):
        if not ctx.period.contains(evidence.effective_at):
            continue
        used.append(evidence)
        active = [k for k in snap.keys if k.state == "active"]
        if not active:
            findings.append(f"no active signing key at {stamp(evidence.effective_at)}")
        for key in active:
            age = evidence.effective_at - (key.activated_at or key.created_at)
            if age > limit and key.kid not in overdue:
                overdue[key.kid] = (
                    f"key {key.kid} active for {span(age)} at {stamp(evidence.effective_at)}, over {limit.days}d"
                )
    return conclude(
        "keys.rotation_age",
        ctx,
        used,
        [*overdue.values(), *findings],
        limits=["key_rotation_days"],
        ok=f"the active signing key was younger than {limit.days}d at each of {len(used)} collection(s)",
    )


@register("tokens.algorithms")
def tokens_algorithms(ctx: CheckContext) -> CheckResult:
    used: list[Evidence] = []
    findings: list[str] = []
    policies = [(e, p) for e, p in ctx.evidence.of(TokenPolicy) if ctx.period.contains(e.effective_at)]
    for evidence, policy in policies:
        used.append(evidence)
        weak = [a for a in (*policy.allowed_algorithms, policy.signing_algorithm) if weak_algorithm(a)]
        findings.extend(f"algorithm {a!r} allowed at {stamp(evidence.effective_at)}" for a in dict.fromkeys(weak))
    for evidence, snap in ctx.evidence.of(SigningKeyInventory):
        if not ctx.period.contains(evidence.effective_at):
            continue
        used.append(evidence)
        findings.extend(
            f"key {k.kid} uses {k.alg!r} at {stamp(evidence.effective_at)}"
            for k in snap.keys
            if k.state != "removed" and weak_algorithm(k.alg)
        )
    return conclude(
        "tokens.algorithms",
        ctx,
        used if policies else [],
        findings,
        limits=[],
        ok="only asymmetric algorithms were allowed and used",
        missing="no token-policy evidence in the period",
    )


@register("tokens.lifetime")
def tokens_lifetime(ctx: CheckContext) -> CheckResult:
    limit = ctx.thresholds.max_access_token_seconds
    used: list[Evidence] = []
    findings: list[str] = []
    for evidence, policy in ctx.evidence.of(TokenPolicy):
        if not ctx.period.contains(evidence.effective_at):
            continue
        used.append(evidence)
        if policy.access_token_ttl_seconds > limit:
            findings.append(
                f"access tokens lived {policy.access_token_ttl_seconds}s at {stamp(evidence.effective_at)},"
                f" over {limit}s"
            )
    return conclude(
        "tokens.lifetime",
        ctx,
        used,
        findings,
        limits=["max_access_token_seconds"],
        ok=f"access-token lifetime stayed at or under {limit}s",
    )


@register("access.privileged_review")
def access_privileged_review(ctx: CheckContext) -> CheckResult:
    limit = timedelta(days=ctx.thresholds.review_max_days)
    roles, scopes = set(ctx.privileged_roles), set(ctx.privileged_scopes)
    used: list[Evidence] = []
    overdue: dict[str, str] = {}
    privileged_seen = 0
    for evidence, registry in ctx.evidence.of(ClientRegistry):
        if not ctx.period.contains(evidence.effective_at):
            continue
        used.append(evidence)
        for client in registry.clients:
            if client.disabled or (client.role not in roles and not scopes.intersection(client.scopes)):
                continue
            privileged_seen += 1
            approved = client.reviewed_at or client.created_at
            age = evidence.effective_at - approved
            if age > limit and client.client_id not in overdue:
                what = "last reviewed" if client.reviewed_at else "never reviewed; created"
                overdue[client.client_id] = (
                    f"client {client.client_id} ({client.role}) {what} {span(age)} before"
                    f" {stamp(evidence.effective_at)}, over {limit.days}d"
                )
    if used and not privileged_seen:
        return not_applicable(
            "access.privileged_review",
            ctx,
            used,
            "no enabled privileged client in the period",
            limits=["review_max_days"],
        )
    return conclude(
        "access.privileged_review",
        ctx,
        used,
        list(overdue.values()),
        limits=["review_max_days"],
        ok=f"every enabled privileged client was reviewed within {limit.days}d",
    )
