"""Burn-rate alerts through the real pipeline: canary records pushed to the Redis stream, indexed into
Elasticsearch by the worker code, counted per window by siem, raised and deduplicated by detections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from detections import AlertFilter
from siem import CanaryRecord, Pipeline, ProbeCounts
from vigil.canary.burn import alert_on_burn, burn_rates, evaluate_burn, rate
from vigil.canary.settings import DEFAULT_BURN_WINDOWS
from vigil.canary.tiers import CanaryDefinition, load_definitions
from vigil.clients import elasticsearch_client, redis_client
from vigil.detections_runtime import build_detections
from vigil.settings import VigilSettings, load_settings

NOW = datetime.now(UTC).replace(microsecond=0)
TIERS = ("fast", "slow", "healthy")


def _definition(tier: str) -> dict[str, object]:
    return {
        "name": f"{tier}-orders",
        "tier": tier,
        "clients": [f"client-{tier}"],
        "client_id": f"canary-{tier}",
        "scopes": ["orders:read", "ingest:write"],
        "endpoints": ["/api/orders"],
        "interval_seconds": 60,
        "objectives": {"availability_percent": 99.9, "latency_ms": 300, "latency_percentile": 95},
    }


def _record(tier: str, n: int, at: datetime, *, failed: bool = False) -> CanaryRecord:
    return CanaryRecord(
        id=f"canary-{tier}-{n}",
        timestamp=at,
        canary=f"{tier}-orders",
        tier=tier,
        clients=(f"client-{tier}",),
        client_id=f"canary-{tier}",
        outcome="failure" if failed else "success",
        duration_ns=0 if failed else 42_000_000,
        slow=False,
        latency_objective_ms=300,
        url="http://127.0.0.1:18753/api/orders",
        failed_step="request" if failed else None,
        reason="HTTP 502" if failed else None,
    )


def records() -> list[CanaryRecord]:
    """Six hours of probes. fast: one a minute, half failing over the last 50 minutes (a fast burn);
    slow: ten a minute, every hundredth failing throughout (1 %, ten times the 0.1 % budget: a slow burn);
    healthy: one a minute, never failing."""
    out: list[CanaryRecord] = []
    for minute in range(1, 360):
        at = NOW - timedelta(minutes=minute)
        out.append(_record("fast", minute, at, failed=minute <= 50 and minute % 2 == 0))
        out.append(_record("healthy", minute, at))
        for k in range(10):
            n = minute * 10 + k
            out.append(_record("slow", n, at + timedelta(seconds=6 * k), failed=n % 100 == 0))
    return out


@pytest.fixture
def burn_settings(
    es_namespace: str, redis_namespace: str, tmp_path: Path, apply_indices: Callable[..., None]
) -> VigilSettings:
    file = tmp_path / "canaries.yaml"
    file.write_text(yaml.safe_dump({"canaries": [_definition(t) for t in TIERS]}), encoding="utf-8")
    apply_indices(es_namespace, "siem", "detections")
    return load_settings(home=tmp_path, namespace=es_namespace, canary={"definitions": str(file)})


@pytest.mark.integration
def test_a_fast_and_a_slow_burn_alert_and_a_healthy_tier_does_not(burn_settings: VigilSettings) -> None:
    pipeline = Pipeline(elasticsearch_client(burn_settings), redis_client(burn_settings), burn_settings.siem)
    pipeline.setup()
    sent = records()
    pipeline.push("canary", [r.model_dump_json() for r in sent], source="vigil-canary", ids=[r.id for r in sent])
    report = pipeline.drain()
    assert report.indexed == len(sent)
    definitions = load_definitions(burn_settings.canary)

    rates = {(b.tier, b.indicator, b.window): b for b in evaluate_burn(burn_settings, definitions, NOW)}
    assert rates["fast", "availability", "1h/5m"].long_rate == pytest.approx(rate(25, 60, 0.001))
    assert rates["slow", "availability", "6h/30m"].long_rate == pytest.approx(10, rel=0.05)
    assert rates["slow", "availability", "1h/5m"].long_rate < 14.4
    assert all(b.long_rate == 0 and b.short_rate == 0 for k, b in rates.items() if k[0] == "healthy")

    firing = alert_on_burn(burn_settings, definitions, NOW)
    expected = {
        ("fast", "availability", "1h/5m"),
        ("fast", "availability", "6h/30m"),
        ("slow", "availability", "6h/30m"),
    }
    assert {(b.tier, b.indicator, b.window) for b in firing} == expected

    detections = build_detections(burn_settings)
    alerts = detections.alerts(AlertFilter(rule_id="compliance:canary-burn")).alerts
    assert sorted(a.group_key for a in alerts) == sorted(f"{t}:{i}:{w}" for t, i, w in expected)
    fast = next(a for a in alerts if a.group_key == "fast:availability:1h/5m")
    assert fast.level.value == "critical"
    assert "tier fast: availability budget burning at" in fast.summary

    # The burn goes on: the next evaluation updates the open alerts instead of raising new ones.
    alert_on_burn(burn_settings, definitions, NOW + timedelta(seconds=30))
    again = detections.alerts(AlertFilter(rule_id="compliance:canary-burn")).alerts
    assert sorted(a.id for a in again) == sorted(a.id for a in alerts)


def test_burn_rates_need_both_windows() -> None:
    """A burn that stopped (long window hot, short window clean) does not fire: the short window says it ended."""
    definition = CanaryDefinition.model_validate(_definition("fast"))

    def count(start: datetime, end: datetime) -> dict[str, ProbeCounts]:
        seconds = (end - start).total_seconds()
        failed = 0 if seconds <= 1800 else 100
        return {"fast": ProbeCounts(tier="fast", total=1000, failed=failed, slow=0)}

    burns = burn_rates([definition], DEFAULT_BURN_WINDOWS, count, NOW)
    availability = [b for b in burns if b.indicator == "availability"]
    assert all(b.long_rate == pytest.approx(100) for b in availability)
    assert not any(b.firing for b in burns)
