"""Each check passes on good evidence and fails on bad, with the reason, thresholds and evidence ids."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from compliance.checks import CheckContext, loosened, run_check, weak_algorithm
from compliance.evidence import (
    AlertFacts,
    AlertTriage,
    ClientFacts,
    ClientRegistry,
    ComplianceConfig,
    DeletionFacts,
    IngestionHealth,
    KeyFacts,
    Retention,
    RuleFacts,
    RuleHealth,
    SigningKeyInventory,
    SourceFacts,
    TokenPolicy,
)
from compliance.models import CheckResult, Outcome
from compliance.settings import Thresholds
from tests.compliance.factories import PERIOD, T0, ev, evidence, hours

NOON = T0 + hours(12)


def run(check_id: str, *items, thresholds: Thresholds | None = None, expected: tuple[str, ...] = ()) -> CheckResult:
    context = CheckContext(
        period=PERIOD, evidence=evidence(*items), thresholds=thresholds or Thresholds(), expected_collectors=expected
    )
    return run_check(check_id, context)


def keys(age_days: float, alg: str = "RS256", state: str = "active") -> SigningKeyInventory:
    created = NOON - timedelta(days=age_days)
    return SigningKeyInventory(
        keys=(KeyFacts(kid="k1", alg=alg, state=state, created_at=created, activated_at=created),)
    )


def policy(ttl: int = 600, algs: tuple[str, ...] = ("RS256", "ES256")) -> TokenPolicy:
    return TokenPolicy(
        issuer="https://i",
        signing_algorithm="RS256",
        allowed_algorithms=algs,
        access_token_ttl_seconds=ttl,
        leeway_seconds=30,
    )


def test_no_evidence_is_a_failure_never_a_pass() -> None:
    verdict = run("keys.rotation_age")
    assert verdict.outcome is Outcome.FAIL
    assert verdict.reason == "no evidence in the period"
    assert verdict.thresholds == {"key_rotation_days": 90}


def test_evidence_outside_the_period_is_not_used() -> None:
    assert run("tokens.lifetime", ev(policy(), T0 - hours(1))).outcome is Outcome.FAIL


def test_key_rotation_passes_and_fails() -> None:
    good = ev(keys(10), NOON)
    verdict = run("keys.rotation_age", good)
    assert verdict.outcome is Outcome.PASS
    assert verdict.evidence_ids == (good.id,)
    bad = run("keys.rotation_age", ev(keys(120), NOON))
    assert bad.outcome is Outcome.FAIL
    assert "key k1 active for 120d0h" in bad.reason
    assert run("keys.rotation_age", ev(keys(120), NOON), thresholds=Thresholds(key_rotation_days=180)).outcome is (
        Outcome.PASS
    )
    assert "no active signing key" in run("keys.rotation_age", ev(keys(1, state="retired"), NOON)).reason


def test_algorithms_pass_and_fail_on_policy_and_keys() -> None:
    assert run("tokens.algorithms", ev(policy(), NOON), ev(keys(1), NOON)).outcome is Outcome.PASS
    weak_policy = run("tokens.algorithms", ev(policy(algs=("RS256", "HS256")), NOON))
    assert weak_policy.outcome is Outcome.FAIL
    assert "'HS256' allowed" in weak_policy.reason
    assert run("tokens.algorithms", ev(policy(algs=("none",)), NOON)).outcome is Outcome.FAIL
    weak_key = run("tokens.algorithms", ev(policy(), NOON), ev(keys(1, alg="HS512"), NOON))
    assert "key k1 uses 'HS512'" in weak_key.reason
    assert run("tokens.algorithms", ev(keys(1), NOON)).reason == "no token-policy evidence in the period"


@given(st.sampled_from(["none", "NONE", "HS256", "hs384", "HS512", "", " none "]))
def test_weak_algorithms_are_recognised(alg: str) -> None:
    assert weak_algorithm(alg)


@given(st.sampled_from(["RS256", "RS512", "PS256", "ES256", "ES384", "EdDSA"]))
def test_asymmetric_algorithms_are_accepted(alg: str) -> None:
    assert not weak_algorithm(alg)


def test_token_lifetime_passes_at_the_limit_and_fails_above() -> None:
    assert run("tokens.lifetime", ev(policy(ttl=900), NOON)).outcome is Outcome.PASS
    bad = run("tokens.lifetime", ev(policy(ttl=600), T0 + hours(1)), ev(policy(ttl=3600), NOON))
    assert bad.outcome is Outcome.FAIL
    assert "3600s" in bad.reason
    assert bad.thresholds == {"max_access_token_seconds": 900}
    assert len(bad.evidence_ids) == 2


def client(client_id: str, role: str, reviewed_days: float | None, *, scopes: tuple[str, ...] = ()) -> ClientFacts:
    return ClientFacts(
        client_id=client_id,
        role=role,
        scopes=scopes,
        disabled=False,
        created_at=NOON - timedelta(days=400),
        reviewed_at=None if reviewed_days is None else NOON - timedelta(days=reviewed_days),
    )


def test_privileged_review_passes_fails_and_is_not_applicable() -> None:
    fresh = ClientRegistry(clients=(client("ops", "admin", 30), client("ingest", "ingest", None)))
    assert run("access.privileged_review", ev(fresh, NOON)).outcome is Outcome.PASS
    stale = ClientRegistry(
        clients=(client("ops", "admin", 91), client("aud", "custom", None, scopes=("evidence:read",)))
    )
    verdict = run("access.privileged_review", ev(stale, NOON))
    assert verdict.outcome is Outcome.FAIL
    assert verdict.findings[0].startswith("client ops (admin) last reviewed 91d0h")
    assert "client aud (custom) never reviewed" in verdict.findings[1]
    nobody = ClientRegistry(clients=(client("ingest", "ingest", None),))
    assert run("access.privileged_review", ev(nobody, NOON)).outcome is Outcome.NOT_APPLICABLE


def health(last_hours_ago: float | None, deadletter: int = 0) -> IngestionHealth:
    last = None if last_hours_ago is None else NOON - hours(last_hours_ago)
    return IngestionHealth(
        sources=(SourceFacts(dataset="access", service="nginx", last_event_at=last, events_24h=5),),
        deadletter_24h=deadletter,
        deadletter_total=deadletter,
    )


def test_sources_active_passes_and_fails() -> None:
    assert run("logging.sources_active", ev(health(1), NOON)).outcome is Outcome.PASS
    bad = run("logging.sources_active", ev(health(25), NOON))
    assert bad.outcome is Outcome.FAIL
    assert bad.reason.startswith("source access/nginx silent for 1d1h")
    assert run("logging.sources_active", ev(health(None), NOON)).outcome is Outcome.FAIL
    empty = IngestionHealth(sources=(), deadletter_24h=0, deadletter_total=0)
    assert "no log source known" in run("logging.sources_active", ev(empty, NOON)).reason


def test_dead_letter_passes_and_fails() -> None:
    assert run("logging.dead_letter", ev(health(1), NOON)).outcome is Outcome.PASS
    assert run("logging.dead_letter", ev(health(1, deadletter=3), NOON)).outcome is Outcome.FAIL
    lenient = Thresholds(max_deadletter_24h=5)
    assert run("logging.dead_letter", ev(health(1, deadletter=3), NOON), thresholds=lenient).outcome is Outcome.PASS


def retention(days: int, deleted_after: int | None = None) -> Retention:
    deletions: tuple[DeletionFacts, ...] = ()
    if deleted_after is not None:
        day = (NOON - timedelta(days=deleted_after)).date()
        deletions = (
            DeletionFacts(
                timestamp=NOON,
                index=f"vigil-logs-access-{day:%Y.%m.%d}",
                index_day=f"{day:%Y.%m.%d}",
                retention_days=days,
                docs=10,
            ),
        )
    return Retention(retention_days=days, deadletter_retention_days=90, oldest_index_day=None, deletions=deletions)


def test_retention_passes_and_fails() -> None:
    assert run("logging.retention", ev(retention(30, deleted_after=31), NOON)).outcome is Outcome.PASS
    assert "retention set to 7d" in run("logging.retention", ev(retention(7), NOON)).reason
    early = run("logging.retention", ev(retention(30, deleted_after=3), NOON))
    assert early.outcome is Outcome.FAIL
    assert "deleted after 3d" in early.reason


def test_rules_healthy_passes_and_fails() -> None:
    ok = RuleHealth(rules=(RuleFacts(rule_id="r1", enabled=True, last_success_at=NOON),))
    assert run("detections.rules_healthy", ev(ok, NOON)).outcome is Outcome.PASS
    recent = RuleHealth(rules=(RuleFacts(rule_id="r1", failing_since=NOON - hours(2)),))
    assert run("detections.rules_healthy", ev(recent, NOON)).outcome is Outcome.PASS
    old = RuleHealth(rules=(RuleFacts(rule_id="r1", failing_since=NOON - hours(30), last_error="boom"),))
    verdict = run("detections.rules_healthy", ev(old, NOON))
    assert verdict.outcome is Outcome.FAIL
    assert verdict.reason == "rule r1 failing for 1d6h: boom"
    none_enabled = RuleHealth(rules=(RuleFacts(rule_id="r1", enabled=False),))
    assert "no rule enabled" in run("detections.rules_healthy", ev(none_enabled, NOON)).reason


def triage(*alerts: AlertFacts) -> AlertTriage:
    return AlertTriage(window_from=T0, window_to=NOON, alerts=alerts)


def alert(alert_id: str, level: str, created_h: float, ack_h: float | None) -> AlertFacts:
    return AlertFacts(
        alert_id=alert_id,
        level=level,
        created_at=T0 + hours(created_h),
        acknowledged_at=None if ack_h is None else T0 + hours(ack_h),
        status="new" if ack_h is None else "acknowledged",
    )


def test_alert_sla_passes_fails_and_is_not_applicable() -> None:
    good = triage(alert("a", "critical", 1, 1.5), alert("b", "high", 2, 5), alert("c", "low", 1, None))
    assert run("detections.alert_ack_sla", ev(good, NOON)).outcome is Outcome.PASS
    late = run("detections.alert_ack_sla", ev(triage(alert("a", "critical", 1, 3)), NOON))
    assert late.outcome is Outcome.FAIL
    assert late.reason == "critical alert a acknowledged after 2h0m, SLA 1h0m"
    open_too_long = run("detections.alert_ack_sla", ev(triage(alert("b", "high", 1, None)), NOON))
    assert "unacknowledged for 11h0m" in open_too_long.reason
    waiting = run("detections.alert_ack_sla", ev(triage(alert("b", "high", 11, None)), NOON))
    assert waiting.outcome is Outcome.PASS
    assert run("detections.alert_ack_sla", ev(triage(alert("c", "medium", 1, None)), NOON)).outcome is (
        Outcome.NOT_APPLICABLE
    )


def test_a_missed_collection_interval_is_a_finding() -> None:
    every_hour = [ev(policy(), T0 + hours(h)) for h in range(24)]
    assert run("operation.collection_continuity", *every_hour, expected=("edgeauth.token_policy",)).outcome is (
        Outcome.PASS
    )
    gap = [e for e in every_hour if not 5 <= e.effective_at.hour <= 8]
    verdict = run("operation.collection_continuity", *gap, expected=("edgeauth.token_policy",))
    assert verdict.outcome is Outcome.FAIL
    assert verdict.reason.startswith("edgeauth.token_policy: no collection from 2026-03-01T04:00:00Z")
    missing = run("operation.collection_continuity", *every_hour, expected=("edgeauth.token_policy", "siem.retention"))
    assert "siem.retention: no collection from 2026-03-01T00:00:00Z to 2026-03-02T00:00:00Z" in missing.reason


def config(thresholds: Thresholds, scope: tuple[str, ...] = ()) -> ComplianceConfig:
    return ComplianceConfig(scope=scope, thresholds=thresholds)


def test_a_threshold_loosened_mid_period_is_flagged() -> None:
    base = Thresholds()
    same = run("operation.thresholds_stable", ev(config(base), T0 + hours(1)), ev(config(base), NOON))
    assert same.outcome is Outcome.PASS
    stricter = Thresholds(max_access_token_seconds=300, retention_policy_days=60)
    assert run("operation.thresholds_stable", ev(config(base), T0), ev(config(stricter), NOON)).outcome is Outcome.PASS
    looser = Thresholds(max_access_token_seconds=3600, retention_policy_days=7)
    verdict = run("operation.thresholds_stable", ev(config(base), T0), ev(config(looser), NOON))
    assert verdict.outcome is Outcome.FAIL
    assert "max_access_token_seconds loosened from 900 to 3600 at 2026-03-01T12:00:00Z" in verdict.findings
    assert "retention_policy_days loosened from 30 to 7 at 2026-03-01T12:00:00Z" in verdict.findings
    narrowed = run(
        "operation.thresholds_stable", ev(config(base, ("CC6.1", "A.8.15")), T0), ev(config(base, ("CC6.1",)), NOON)
    )
    assert "control(s) A.8.15 left the scope" in narrowed.reason


@given(st.integers(1, 10_000), st.integers(1, 10_000))
def test_loosening_is_direction_aware(old: int, new: int) -> None:
    changes = loosened(Thresholds(review_max_days=old), Thresholds(review_max_days=new))
    assert bool(changes) == (new > old)


def test_verdicts_are_deterministic_regardless_of_input_order() -> None:
    items = [ev(policy(ttl=600 + h), T0 + hours(h)) for h in range(5)]
    forward = run("tokens.lifetime", *items, thresholds=Thresholds(max_access_token_seconds=602))
    backward = run("tokens.lifetime", *reversed(items), thresholds=Thresholds(max_access_token_seconds=602))
    assert forward == backward
    assert forward.findings[0].startswith("access tokens lived 603s")


def test_an_alert_raised_before_the_period_and_still_open_counts() -> None:
    old_open = AlertFacts(alert_id="x", level="critical", created_at=T0 - hours(30), status="new")
    verdict = run("detections.alert_ack_sla", ev(triage(old_open), NOON))
    assert verdict.outcome is Outcome.FAIL
    old_closed = AlertFacts(
        alert_id="y", level="critical", created_at=T0 - hours(30), acknowledged_at=T0 - hours(20), status="resolved"
    )
    assert run("detections.alert_ack_sla", ev(triage(old_closed), NOON)).outcome is Outcome.NOT_APPLICABLE
