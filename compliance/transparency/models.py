"""The transparency report of one client over one period, as signed, rendered and served (docs/trust.md).

Everything in it is about that client or is platform-wide and client-neutral (control verdicts, thresholds,
evidence digests); nothing names another client. Free text that could name one (a failing check's findings) is
counted, not quoted: the auditor's evidence bundle carries it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from compliance.models import Outcome

REPORT_SCHEMA = 1
ReportFormat = Literal["zip", "json", "html", "pdf"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReportPeriod(_Frozen):
    start: AwareDatetime = Field(description="Included.")
    end: AwareDatetime = Field(description="Excluded.")


class CheckLine(_Frozen):
    check_id: str
    title: str
    outcome: Outcome
    reason: str = Field(description="The check's own words when it passed; the count of findings when it failed.")
    findings: int = Field(ge=0)
    thresholds: dict[str, Any] = Field(description="The scalar thresholds in force (SLA objectives: see `sla`).")
    evidence: tuple[int, ...] = Field(description="Locker sequence numbers of the evidence it read.")


class ControlLine(_Frozen):
    control_id: str
    framework: str
    summary: str
    outcome: Outcome
    reason: str
    checks: tuple[CheckLine, ...]


class Objective(_Frozen):
    """One promise of a tier and what the period attained against it."""

    name: Literal["availability", "latency"]
    promised: str
    attained: str
    met: bool | None = Field(description="None: no probe measured it.")


class SlaLine(_Frozen):
    """The client's SLA attainment on one tier (compliance.sla), objective by objective."""

    tier: str
    status: Literal["met", "missed", "no-data"]
    runs: int
    probes: int
    good_probes: int
    availability_percent: float | None
    availability_objective_percent: float | None
    latency_percent: float | None
    latency_objective_ms: float | None
    latency_objective_percentile: float | None
    observed_latency_ms: float | None
    error_budget_consumed: float | None
    objectives: tuple[Objective, ...]
    misses: tuple[str, ...]
    failures: tuple[str, ...] = Field(description="Why the tier's failed probes failed, most frequent first.")
    evidence: tuple[int, ...]


class Severity(_Frozen):
    """Alerts of one level that touched the client: how many, and how fast they were handled."""

    level: str
    alerts: int
    open: int
    acknowledged: int
    resolved: int
    mean_seconds_to_acknowledge: float | None
    max_seconds_to_acknowledge: float | None
    mean_seconds_to_resolve: float | None
    max_seconds_to_resolve: float | None


class Incident(_Frozen):
    """One alert that touched the client; its matched events and group key stay with the analysts."""

    alert_id: str
    level: str
    title: str
    category: str
    first_seen: datetime
    last_seen: datetime
    status: str
    verdict: str | None
    seconds_to_acknowledge: float | None
    seconds_to_resolve: float | None


class Incidents(_Frozen):
    tied_by: tuple[str, ...] = Field(description="The identifiers an alert had to name to count as this client's.")
    by_severity: tuple[Severity, ...]
    alerts: tuple[Incident, ...]


class EvidenceDigest(_Frozen):
    sequence: int
    collector: str
    effective_at: datetime
    sha256: str = Field(description="SHA-256 of the evidence content.")
    record_digest: str
    entry_hash: str


class CollectorEvidence(_Frozen):
    collector: str
    items: int
    first_sequence: int
    last_sequence: int


class EvidenceSummary(_Frozen):
    chain_head_sequence: int | None
    chain_head: str | None = Field(description="The locker's entry hash at the time of the report.")
    by_collector: tuple[CollectorEvidence, ...] = Field(description="The items per collector (the pages show this).")
    items: tuple[EvidenceDigest, ...] = Field(description="Every item, in full (report.json carries them all).")


class TransparencyReport(_Frozen):
    schema_version: int = REPORT_SCHEMA
    client: str
    period: ReportPeriod
    generated_at: AwareDatetime
    generator: str
    tiers: tuple[str, ...]
    findings: tuple[str, ...] = Field(description="What a reader should look at first: SLA misses, failing controls.")
    controls: tuple[ControlLine, ...]
    sla: tuple[SlaLine, ...]
    incidents: Incidents
    evidence: EvidenceSummary


class ReportRequest(_Frozen):
    """What a report is asked for: one client, one half-open period."""

    client: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")
    start: AwareDatetime
    end: AwareDatetime
