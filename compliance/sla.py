"""SLA attainment from canary evidence: the run the canary records, and the arithmetic over a period.

Public API of compliance. The canary (`vigil.canary`) appends one `CanaryRun` per tier and run to the evidence
locker (collector `canary.run`); the availability checks (`compliance.checks.availability`) and the transparency
report read them back through `load_canary_runs` and compute `attainment` for one tier or one client.

The units are probes. A probe is good when every one of its steps succeeded; it is fast when every `request`
step finished within the latency objective in force for its run. Availability attained is good probes over all
probes; latency attained is fast probes over good probes (a failed request has no meaningful latency: it is
already counted against availability). The error budget consumed is the share of the period's own budget
(`1 - objective` of its probes) that the bad probes used: 1.0 is exactly all of it.

When the objectives change inside a period, each probe's latency is judged by the objective of its own run, and
the verdict uses the strictest objective in force during the period, so loosening a target mid-period cannot
turn a miss into a pass; every distinct objective is listed in the result.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field

from compliance.models import Period
from compliance.payload import Payload

if TYPE_CHECKING:  # `compliance.evidence` registers `CanaryRun` among its payloads, so it imports this module
    from compliance.evidence import Evidence, EvidenceSet
    from evidence import EvidenceLocker

KIND = "canary.run"

StepKind = Literal["token", "request", "ingest", "indexed"]


class StepResult(BaseModel):
    """One step of a probe: what it was, against which target, whether it succeeded and how long it took."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: StepKind
    target: str = Field(default="", description="The endpoint of a `request` step (`/api/orders`), else empty.")
    ok: bool
    latency_ms: float | None = Field(default=None, ge=0, description="None when the step never got an answer.")
    detail: str = Field(default="", max_length=200, description="Why it failed (`HTTP 503`, `ReadTimeout`).")


class ProbeResult(BaseModel):
    """One pass through the whole path (token, each endpoint, the ingest marker) as the tier's client."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[StepResult, ...] = Field(min_length=1)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def request_latency_ms(self) -> float | None:
        """The slowest `request` step: the latency a client of the tier saw for this probe."""
        values = [s.latency_ms for s in self.steps if s.kind == "request" and s.latency_ms is not None]
        return max(values) if values else None

    @property
    def failure(self) -> str | None:
        failed = next((s for s in self.steps if not s.ok), None)
        if failed is None:
            return None
        where = f" {failed.target}" if failed.target else ""
        return f"{failed.kind}{where}: {failed.detail or 'failed'}"


class SlaObjectives(BaseModel):
    """The objectives a tier promises: recorded with every run, so a verdict names the thresholds in force."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    availability_percent: float = Field(gt=0, lt=100, description="Share of good probes promised, e.g. 99.9.")
    latency_ms: float = Field(gt=0, description="Request latency bound, e.g. 300.")
    latency_percentile: float = Field(default=95, gt=0, lt=100, description="Share of good probes within it.")
    budget_days: int = Field(default=30, ge=1, le=366, description="The error budget's period (burn rates use it).")

    @property
    def error_budget(self) -> float:
        """The tolerated share of bad probes (0.001 for 99.9 %)."""
        return 1 - self.availability_percent / 100

    def describe(self) -> str:
        return (
            f"availability >= {self.availability_percent:g}%,"
            f" p{self.latency_percentile:g} latency <= {self.latency_ms:g} ms"
        )


class CanaryRun(Payload):
    """One canary run of one tier: who it stands for, what it found, and the objectives in force."""

    kind: ClassVar[str] = KIND

    canary: str = Field(min_length=1, description="The canary definition's name.")
    tier: str = Field(min_length=1)
    clients: tuple[str, ...] = Field(min_length=1, description="The client ids this tier's canary stands for.")
    canary_client_id: str = Field(min_length=1, description="The canary's own OAuth client.")
    started_at: AwareDatetime
    interval_seconds: int = Field(ge=1)
    proxy_url: str
    probes: tuple[ProbeResult, ...] = Field(min_length=1)
    objectives: SlaObjectives
    previous_marker_indexed: bool | None = Field(
        default=None, description="Whether the previous run's ingest marker became searchable (None: no marker)."
    )


class EvidenceRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    sha256: str


class SlaAttainment(BaseModel):
    """Attainment of one tier (or one client, across the tiers standing for it) over one period."""

    model_config = ConfigDict(frozen=True)

    period: Period
    tier: str | None
    client: str | None
    tiers: tuple[str, ...]
    runs: int = Field(ge=0)
    probes: int = Field(ge=0)
    good_probes: int = Field(ge=0)
    fast_probes: int = Field(ge=0)
    availability_objective_percent: float | None
    latency_objective_ms: float | None
    latency_objective_percentile: float | None
    objectives_in_force: tuple[SlaObjectives, ...]
    availability_percent: float | None = Field(description="Attained; None without probes.")
    latency_percent: float | None = Field(description="Good probes within their latency bound; None without any.")
    observed_latency_ms: float | None = Field(description="Request latency at the objective's percentile.")
    error_budget_consumed: float | None = Field(description="Share of the period's error budget used (1.0: all).")
    first_run_at: AwareDatetime | None
    last_run_at: AwareDatetime | None
    longest_gap_seconds: float | None = Field(description="Longest time between consecutive runs in the period.")
    failures: tuple[str, ...] = Field(description="Distinct failure reasons of bad probes, most frequent first.")
    evidence: tuple[EvidenceRef, ...]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def availability_met(self) -> bool | None:
        if self.availability_percent is None or self.availability_objective_percent is None:
            return None
        return self.availability_percent >= self.availability_objective_percent

    @computed_field  # type: ignore[prop-decorator]
    @property
    def latency_met(self) -> bool | None:
        if self.latency_percent is None or self.latency_objective_percentile is None:
            return None
        return self.latency_percent >= self.latency_objective_percentile

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Literal["met", "missed", "no-data"]:
        if self.probes == 0:
            return "no-data"
        return "missed" if self.availability_met is False or self.latency_met is False else "met"

    def misses(self) -> list[str]:
        """One sentence per objective missed, with attained and promised values (empty when met)."""
        out: list[str] = []
        if self.availability_met is False:
            budget = self.error_budget_consumed or 0.0
            cause = f"; most often {self.failures[0]}" if self.failures else ""
            out.append(
                f"availability {self.availability_percent:.3f}% under {self.availability_objective_percent:g}%"
                f" ({self.probes - self.good_probes} of {self.probes} probes failed,"
                f" {budget * 100:.0f}% of the error budget{cause})"
            )
        if self.latency_met is False:
            observed = f", observed p{self.latency_objective_percentile:g} {self.observed_latency_ms:.0f} ms"
            out.append(
                f"latency: {self.latency_percent:.2f}% of good probes within {self.latency_objective_ms:g} ms,"
                f" under {self.latency_objective_percentile:g}%{observed}"
            )
        return out


def percentile(values: Sequence[float], percent: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least `percent` % of values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _selected(run: CanaryRun, tier: str | None, client: str | None) -> bool:
    return (tier is None or run.tier == tier) and (client is None or client in run.clients)


def runs_in(
    evidence: EvidenceSet, period: Period, *, tier: str | None = None, client: str | None = None
) -> list[tuple[Evidence, CanaryRun]]:
    """The canary runs started in the period for this tier and/or client, oldest first."""
    return [
        (e, run)
        for e, run in evidence.of(CanaryRun)
        if period.contains(run.started_at) and _selected(run, tier, client)
    ]


def attainment(
    runs: Iterable[tuple[Evidence, CanaryRun]], period: Period, *, tier: str | None = None, client: str | None = None
) -> SlaAttainment:
    """SLA attainment of the given runs (already selected, see `runs_in`) over the period.

    Deterministic in its inputs; runs outside the period or not matching tier/client are ignored, so passing a
    whole evidence set's runs is safe.
    """
    chosen = sorted(
        ((e, r) for e, r in runs if period.contains(r.started_at) and _selected(r, tier, client)),
        key=lambda pair: (pair[1].started_at, pair[0].id),
    )
    objectives = tuple(dict.fromkeys(r.objectives for _, r in chosen))
    probes = [(p, r.objectives) for _, r in chosen for p in r.probes]
    good = [(p, o) for p, o in probes if p.ok]
    fast = [p for p, o in good if (p.request_latency_ms or 0.0) <= o.latency_ms]
    strictest_availability = max((o.availability_percent for o in objectives), default=None)
    strictest_percentile = max((o.latency_percentile for o in objectives), default=None)
    strictest_latency = min((o.latency_ms for o in objectives), default=None)
    availability = 100 * len(good) / len(probes) if probes else None
    consumed = None
    if availability is not None and strictest_availability is not None:
        consumed = (100 - availability) / (100 - strictest_availability)
    latencies = [p.request_latency_ms for p, _ in good if p.request_latency_ms is not None]
    starts = [r.started_at for _, r in chosen]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    reasons: dict[str, int] = {}
    for p, _ in probes:
        if (reason := p.failure) is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    return SlaAttainment(
        period=period,
        tier=tier,
        client=client,
        tiers=tuple(sorted({r.tier for _, r in chosen})),
        runs=len(chosen),
        probes=len(probes),
        good_probes=len(good),
        fast_probes=len(fast),
        availability_objective_percent=strictest_availability,
        latency_objective_ms=strictest_latency,
        latency_objective_percentile=strictest_percentile,
        objectives_in_force=objectives,
        availability_percent=availability,
        latency_percent=100 * len(fast) / len(good) if good else None,
        observed_latency_ms=percentile(latencies, strictest_percentile) if strictest_percentile else None,
        error_budget_consumed=consumed,
        first_run_at=starts[0] if starts else None,
        last_run_at=starts[-1] if starts else None,
        longest_gap_seconds=max(gaps) if gaps else None,
        failures=tuple(sorted(reasons, key=lambda k: (-reasons[k], k))),
        evidence=tuple(EvidenceRef(id=e.id, sha256=e.sha256) for e, _ in chosen),
    )


def attainment_by_tier(evidence: EvidenceSet, period: Period) -> tuple[SlaAttainment, ...]:
    """One attainment per tier that ran in the period, in tier-name order."""
    runs = runs_in(evidence, period)
    tiers = sorted({r.tier for _, r in runs})
    return tuple(attainment(runs, period, tier=t) for t in tiers)


def tiers_for_client(evidence: EvidenceSet, period: Period, client: str) -> tuple[str, ...]:
    return tuple(sorted({r.tier for _, r in runs_in(evidence, period, client=client)}))


def load_canary_runs(locker: EvidenceLocker, period: Period) -> EvidenceSet:
    """The canary runs in the locker effective in the period (only those: cheaper than all evidence)."""
    from compliance.collectors.runner import load_evidence  # the collectors' payloads import this module

    return load_evidence(locker, period, kinds=(KIND,))


def sla_attainment(
    locker: EvidenceLocker, period: Period, *, tier: str | None = None, client: str | None = None
) -> SlaAttainment:
    """Attainment of one tier and/or client over the period, read from the evidence locker."""
    return attainment(runs_in(load_canary_runs(locker, period), period), period, tier=tier, client=client)
