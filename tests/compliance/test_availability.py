"""The availability check (`availability.sla_attained`) on built canary evidence: verdicts, findings, thresholds."""

from __future__ import annotations

from compliance.checks import CheckContext, run_check
from compliance.evidence import EvidenceSet
from compliance.models import CheckResult, Outcome
from tests.compliance.factories import PERIOD
from tests.compliance.test_sla import GOLD, probe, run


def check(evidence: EvidenceSet) -> CheckResult:
    return run_check("availability.sla_attained", CheckContext(period=PERIOD, evidence=evidence))


def test_no_canary_evidence_fails() -> None:
    result = check(EvidenceSet([]))
    assert result.outcome is Outcome.FAIL
    assert result.reason.startswith("no canary evidence in the period")


def test_tiers_meeting_their_objectives_pass_with_thresholds_recorded() -> None:
    items = [run(m, (probe(),), tier=t, clients=(f"c-{t}",)) for m in range(0, 10) for t in ("gold", "silver")]
    result = check(EvidenceSet(items))
    assert result.outcome is Outcome.PASS
    assert "gold 100.000% available" in result.reason
    assert set(result.thresholds) == {"gold", "silver"}
    assert result.thresholds["gold"]["objectives"] == [GOLD.model_dump()]
    assert result.thresholds["gold"]["clients"] == ["c-gold"]
    assert len(result.evidence_ids) == 20


def test_a_missed_tier_is_one_finding_with_its_reason() -> None:
    items = [run(m, (probe(),), tier="silver", clients=("globex",)) for m in range(10)]
    items += [run(m, (probe(latency=900.0),), tier="gold", clients=("acme",)) for m in range(10)]
    result = check(EvidenceSet(items))
    assert result.outcome is Outcome.FAIL
    assert result.findings == (
        "tier gold (acme): SLA missed: latency: 0.00% of good probes within 200 ms, under 95%, observed p95 900 ms",
    )


def test_a_silent_canary_is_a_finding() -> None:
    items = [run(0, (probe(),)), run(1, (probe(),)), run(30, (probe(),))]
    result = check(EvidenceSet(items))
    assert result.outcome is Outcome.FAIL
    assert result.findings == ("tier gold (acme): canary silent for 29m, over 3 intervals of 60s",)
