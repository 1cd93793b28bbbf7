"""SLA attainment arithmetic (`compliance.sla`): worked examples, and properties over generated runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.evidence import Evidence, EvidenceSet
from compliance.sla import (
    CanaryRun,
    ProbeResult,
    SlaObjectives,
    StepResult,
    attainment,
    attainment_by_tier,
    percentile,
    runs_in,
)
from tests.compliance.factories import PERIOD, T0, ev

GOLD = SlaObjectives(availability_percent=99.0, latency_ms=200, latency_percentile=95)


def probe(ok: bool = True, latency: float = 50.0, detail: str = "HTTP 503") -> ProbeResult:
    return ProbeResult(
        steps=(
            StepResult(kind="token", ok=True, latency_ms=3.0),
            StepResult(kind="request", target="/api/orders", ok=ok, latency_ms=latency, detail="" if ok else detail),
        )
    )


def run(
    minute: int,
    probes: tuple[ProbeResult, ...],
    *,
    tier: str = "gold",
    clients: tuple[str, ...] = ("acme",),
    objectives: SlaObjectives = GOLD,
) -> Evidence:
    payload = CanaryRun(
        canary=f"{tier}-canary",
        tier=tier,
        clients=clients,
        canary_client_id=f"canary-{tier}",
        started_at=T0 + timedelta(minutes=minute),
        interval_seconds=60,
        proxy_url="http://127.0.0.1:8080",
        probes=probes,
        objectives=objectives,
    )
    return ev(payload, payload.started_at)


def pairs(*items: Evidence) -> list[tuple[Evidence, CanaryRun]]:
    return runs_in(EvidenceSet(items), PERIOD)


def test_a_healthy_tier_meets_both_objectives() -> None:
    got = attainment(pairs(*(run(m, (probe(), probe())) for m in range(10))), PERIOD, tier="gold")
    assert (got.runs, got.probes, got.good_probes, got.fast_probes) == (10, 20, 20, 20)
    assert got.availability_percent == 100.0
    assert got.error_budget_consumed == 0.0
    assert got.status == "met"
    assert got.misses() == []
    assert got.longest_gap_seconds == 60.0
    assert got.objectives_in_force == (GOLD,)


def test_failures_spend_the_error_budget_and_miss_availability() -> None:
    items = [run(m, (probe(),) * 9 + (probe(ok=False),)) for m in range(10)]
    got = attainment(pairs(*items), PERIOD)
    assert got.availability_percent == pytest.approx(90.0)
    assert got.error_budget_consumed == pytest.approx(10.0)  # 10 % bad against a 1 % budget
    assert got.availability_met is False
    assert got.status == "missed"
    assert got.failures == ("request /api/orders: HTTP 503",)
    assert got.misses()[0] == (
        "availability 90.000% under 99% (10 of 100 probes failed, 1000% of the error budget;"
        " most often request /api/orders: HTTP 503)"
    )


def test_slow_good_probes_miss_latency_but_not_availability() -> None:
    items = [run(m, (probe(latency=500.0),) if m % 2 else (probe(),)) for m in range(20)]
    got = attainment(pairs(*items), PERIOD)
    assert got.availability_met is True
    assert got.latency_percent == pytest.approx(50.0)
    assert got.latency_met is False
    assert got.observed_latency_ms == 500.0
    assert got.misses()[0].startswith("latency: 50.00% of good probes within 200 ms, under 95%")


def test_tier_and_client_select_their_own_runs() -> None:
    items = pairs(
        run(1, (probe(ok=False),), tier="standard", clients=("globex",)),
        run(2, (probe(),), tier="gold", clients=("acme", "initech")),
    )
    assert attainment(items, PERIOD, client="initech").tiers == ("gold",)
    assert attainment(items, PERIOD, client="globex").status == "missed"
    assert attainment(items, PERIOD, client="nobody").status == "no-data"
    assert [a.tier for a in attainment_by_tier(EvidenceSet([e for e, _ in items]), PERIOD)] == ["gold", "standard"]


def test_the_strictest_objective_in_force_judges_the_period() -> None:
    loose = SlaObjectives(availability_percent=90.0, latency_ms=1000, latency_percentile=50)
    items = pairs(
        run(1, (probe(),) * 97 + (probe(ok=False),) * 3, objectives=GOLD),
        run(2, (probe(),), objectives=loose),
    )
    got = attainment(items, PERIOD)
    assert got.availability_objective_percent == 99.0
    assert got.latency_objective_percentile == 95
    assert got.objectives_in_force == (GOLD, loose)
    assert got.availability_met is False


def test_runs_outside_the_period_do_not_count() -> None:
    items = pairs(run(-5, (probe(ok=False),)), run(5, (probe(),)))
    assert attainment(items, PERIOD).runs == 1


def test_nearest_rank_percentile() -> None:
    assert percentile([], 95) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([float(v) for v in range(1, 101)], 95) == 95.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0


outcomes = st.lists(
    st.tuples(st.booleans(), st.floats(min_value=0, max_value=5000, allow_nan=False)), min_size=1, max_size=60
)


@settings(max_examples=200, deadline=None)
@given(outcomes, st.floats(min_value=50, max_value=99.99), st.floats(min_value=1, max_value=4000))
def test_attainment_properties(
    observed: list[tuple[bool, float]], availability_objective: float, latency_ms: float
) -> None:
    objectives = SlaObjectives(availability_percent=availability_objective, latency_ms=latency_ms)
    items = pairs(
        *(run(i, (probe(ok=ok, latency=lat),), objectives=objectives) for i, (ok, lat) in enumerate(observed))
    )
    got = attainment(items, PERIOD)
    good = sum(ok for ok, _ in observed)
    fast = sum(ok and lat <= latency_ms for ok, lat in observed)
    assert got.probes == len(observed)
    assert got.good_probes == good
    assert got.fast_probes == fast
    assert got.availability_percent is not None
    assert got.availability_percent == pytest.approx(100 * good / len(observed))
    assert 0 <= got.availability_percent <= 100
    # The budget is spent exactly when availability falls to the objective.
    assert got.error_budget_consumed is not None
    assert (got.error_budget_consumed <= 1 + 1e-9) == (got.availability_percent >= availability_objective - 1e-9)
    assert got.availability_met == (got.availability_percent >= availability_objective)
    if good:
        assert got.latency_percent == pytest.approx(100 * fast / good)
        assert got.observed_latency_ms is not None
        assert got.observed_latency_ms in [lat for ok, lat in observed if ok]
    else:
        assert got.latency_percent is None
        assert got.latency_met is None
    assert (got.status == "met") == (got.availability_met is True and got.latency_met is not False)
