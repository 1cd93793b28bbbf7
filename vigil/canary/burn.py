"""Burn-rate alerts: each tier's error budget spent too fast, over a long and a short window at once.

A burn rate is the share of bad probes in a window divided by the share the objective tolerates (the error
budget): at 1.0 the budget lasts exactly its period (`budget_days`), at 14.4 two per cent of a 30-day budget
goes in one hour. A condition (`BurnWindow`) fires when both its long and its short window burn at least at its
factor: the long window proves the burn is significant, the short one that it is still going on, so the alert
stops soon after the burn does. Two indicators per tier: availability (failed probes, budget `1 - availability`)
and latency (good probes slower than the objective, budget `1 - percentile`).

Counts come from the `canary` events in Elasticsearch through siem (`probe_counts`); alerts go through the
normal detections path (`Detections.raise_alert`), one per tier, indicator and condition, so a burn that goes on
updates its open alert instead of raising another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from detections import Level
from siem import ProbeCounts, probe_counts
from vigil.canary.settings import BurnWindow
from vigil.canary.tiers import CanaryDefinition
from vigil.clients import elasticsearch_client
from vigil.detections_runtime import build_detections
from vigil.settings import VigilSettings

Indicator = Literal["availability", "latency"]
Counter = Callable[[datetime, datetime], dict[str, ProbeCounts]]


class BurnRate(BaseModel):
    """One tier's burn of one indicator under one condition."""

    model_config = ConfigDict(frozen=True)

    tier: str
    indicator: Indicator
    window: str
    factor: float
    level: str
    long_rate: float
    short_rate: float
    long_bad: int
    long_total: int

    @property
    def firing(self) -> bool:
        return self.long_rate >= self.factor and self.short_rate >= self.factor


def rate(bad: int, total: int, budget: float) -> float:
    """Burn rate of `bad` out of `total` against a budget share; no probes burn nothing (silence alerts elsewhere)."""
    return 0.0 if total == 0 else (bad / total) / budget


def _bad_and_total(counts: ProbeCounts, indicator: Indicator) -> tuple[int, int]:
    if indicator == "availability":
        return counts.failed, counts.total
    return counts.slow, counts.total - counts.failed


def burn_rates(
    definitions: Sequence[CanaryDefinition], windows: Sequence[BurnWindow], count: Counter, now: datetime
) -> list[BurnRate]:
    """Every tier's burn rates under every condition, from `count(start, end)` (one call per distinct window)."""
    spans = sorted({w.long_seconds for w in windows} | {w.short_seconds for w in windows})
    counted = {s: count(now - timedelta(seconds=s), now) for s in spans}
    out: list[BurnRate] = []
    for definition in definitions:
        objectives = definition.objectives
        budgets: dict[Indicator, float] = {
            "availability": objectives.error_budget,
            "latency": 1 - objectives.latency_percentile / 100,
        }
        for window in windows:
            long_counts = counted[window.long_seconds][definition.tier]
            short_counts = counted[window.short_seconds][definition.tier]
            for indicator, budget in budgets.items():
                long_bad, long_total = _bad_and_total(long_counts, indicator)
                short_bad, short_total = _bad_and_total(short_counts, indicator)
                out.append(
                    BurnRate(
                        tier=definition.tier,
                        indicator=indicator,
                        window=window.label,
                        factor=window.factor,
                        level=window.level,
                        long_rate=rate(long_bad, long_total, budget),
                        short_rate=rate(short_bad, short_total, budget),
                        long_bad=long_bad,
                        long_total=long_total,
                    )
                )
    return out


def evaluate_burn(
    settings: VigilSettings, definitions: Sequence[CanaryDefinition], now: datetime | None = None
) -> list[BurnRate]:
    es = elasticsearch_client(settings)
    tiers = [d.tier for d in definitions]

    def count(start: datetime, end: datetime) -> dict[str, ProbeCounts]:
        return probe_counts(es, settings.siem, tiers, start, end)

    return burn_rates(definitions, settings.canary.burn_windows, count, now or datetime.now(UTC))


def alert_on_burn(
    settings: VigilSettings, definitions: Sequence[CanaryDefinition], now: datetime | None = None
) -> list[BurnRate]:
    """Raise (or update) one alert per firing tier, indicator and condition; returns the firing burns."""
    firing = [b for b in evaluate_burn(settings, definitions, now) if b.firing]
    if not firing:
        return firing
    detections = build_detections(settings)
    clients = {d.tier: list(d.clients) for d in definitions}
    for burn in firing:
        detections.raise_alert(
            key="canary-burn",
            title=f"SLA error budget burning fast: {burn.indicator}",
            level=Level(burn.level),
            summary=(
                f"tier {burn.tier}: {burn.indicator} budget burning at {burn.long_rate:.1f}x over {burn.window}"
                f" (short window {burn.short_rate:.1f}x, threshold {burn.factor:g}x;"
                f" {burn.long_bad} of {burn.long_total} probes bad)"
            ),
            group_key=f"{burn.tier}:{burn.indicator}:{burn.window}",
            evidence={**burn.model_dump(), "clients": clients.get(burn.tier, [])},
            tags=["availability", "sla", f"tier:{burn.tier}"],
        )
    return firing
