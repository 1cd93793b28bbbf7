"""The one registry from check ids (as the catalog names them) to pure check functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from compliance.errors import UnknownCheckError
from compliance.evidence import Evidence, EvidenceSet
from compliance.models import CheckResult, Outcome, Period
from compliance.settings import Thresholds


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may look at: nothing else (no clock, no services), so verdicts are reproducible."""

    period: Period
    evidence: EvidenceSet
    thresholds: Thresholds = field(default_factory=Thresholds)
    privileged_roles: tuple[str, ...] = ("admin", "analyst", "auditor")
    privileged_scopes: tuple[str, ...] = ("admin", "rules:admin", "alerts:triage", "evidence:read", "compliance:read")
    expected_collectors: tuple[str, ...] = ()


CheckFunction = Callable[[CheckContext], CheckResult]

CHECKS: dict[str, CheckFunction] = {}


def register(check_id: str) -> Callable[[CheckFunction], CheckFunction]:
    def decorate(function: CheckFunction) -> CheckFunction:
        if check_id in CHECKS:
            raise ValueError(f"check {check_id} registered twice")
        CHECKS[check_id] = function
        return function

    return decorate


def get_check(check_id: str) -> CheckFunction:
    try:
        return CHECKS[check_id]
    except KeyError:
        raise UnknownCheckError(f"no check is registered as {check_id!r}") from None


def run_check(check_id: str, context: CheckContext) -> CheckResult:
    return get_check(check_id)(context)


def conclude(
    check_id: str,
    context: CheckContext,
    used: Sequence[Evidence],
    findings: Sequence[str],
    *,
    limits: Sequence[str],
    ok: str,
    missing: str | None = None,
) -> CheckResult:
    """Turn findings into a verdict: no evidence fails (stale or absent evidence is never a pass)."""
    thresholds = {name: getattr(context.thresholds, name) for name in limits}
    ids = tuple(sorted({e.id for e in used}, key=lambda i: (len(i), i)))
    if not used:
        reason = missing or "no evidence in the period"
        return CheckResult(check_id=check_id, outcome=Outcome.FAIL, reason=reason, thresholds=thresholds)
    unique = tuple(dict.fromkeys(findings))
    if unique:
        more = f" (and {len(unique) - 1} more)" if len(unique) > 1 else ""
        return CheckResult(
            check_id=check_id,
            outcome=Outcome.FAIL,
            reason=f"{unique[0]}{more}",
            thresholds=thresholds,
            evidence_ids=ids,
            findings=unique,
        )
    return CheckResult(check_id=check_id, outcome=Outcome.PASS, reason=ok, thresholds=thresholds, evidence_ids=ids)


def not_applicable(
    check_id: str, context: CheckContext, used: Sequence[Evidence], reason: str, *, limits: Sequence[str]
) -> CheckResult:
    return CheckResult(
        check_id=check_id,
        outcome=Outcome.NOT_APPLICABLE,
        reason=reason,
        thresholds={name: getattr(context.thresholds, name) for name in limits},
        evidence_ids=tuple(sorted({e.id for e in used}, key=lambda i: (len(i), i))),
    )


def span(delta: timedelta) -> str:
    """A short human duration for reasons: 3d4h, 2h5m, 40m, 12s."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
