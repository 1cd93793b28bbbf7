"""Settings of the compliance package: a plain model; `vigil` nests it as `VIGIL_COMPLIANCE__*`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Thresholds(BaseModel):
    """The limits checks hold evidence to. Each one is recorded with every verdict and every collection."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_rotation_days: int = Field(default=90, ge=1, description="The active signing key is at most this old.")
    max_access_token_seconds: int = Field(default=900, ge=1, description="Longest access-token lifetime allowed.")
    source_silence_hours: int = Field(default=24, ge=1, description="Every log source sent within this many hours.")
    retention_policy_days: int = Field(default=30, ge=1, description="Log retention is at least this many days.")
    max_deadletter_24h: int = Field(default=0, ge=0, description="Dead-lettered events tolerated per 24 hours.")
    ack_sla_minutes_critical: int = Field(default=60, ge=1, description="A critical alert is acknowledged within.")
    ack_sla_minutes_high: int = Field(default=240, ge=1, description="A high alert is acknowledged within.")
    rule_failure_max_hours: int = Field(default=24, ge=1, description="No enabled rule fails for longer than this.")
    review_max_days: int = Field(default=90, ge=1, description="Every privileged client was reviewed within this.")
    collection_interval_seconds: int = Field(default=3600, ge=60, description="Expected spacing of collections.")
    collection_grace_seconds: int = Field(default=600, ge=0, description="Lateness tolerated per collection.")

    def ack_sla_minutes(self, level: str) -> int | None:
        return {"critical": self.ack_sla_minutes_critical, "high": self.ack_sla_minutes_high}.get(level)


class ComplianceSettings(BaseModel):
    """Scope, thresholds and where results are kept."""

    model_config = ConfigDict(extra="forbid")

    namespace: str = Field(
        default="vigil",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Names the status index `{namespace}-compliance-status`. From VIGIL_NAMESPACE.",
    )
    scope: tuple[str, ...] = Field(
        default=(), description="Control ids the team commits to (e.g. CC6.1,A.8.15); empty: the whole catalog."
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)
    privileged_roles: tuple[str, ...] = Field(
        default=("admin", "analyst", "auditor"), description="Client roles whose access needs periodic review."
    )
    privileged_scopes: tuple[str, ...] = Field(
        default=("admin", "rules:admin", "alerts:triage", "evidence:read", "compliance:read"),
        description="Holding any of these scopes makes a client privileged.",
    )
    lookback_days: int = Field(
        default=7, ge=1, le=365, description="How far back collectors look for log sources, rule runs and alerts."
    )
    status_window_hours: int = Field(
        default=24, ge=1, le=24 * 366, description="Continuous status evaluates the trailing window of this length."
    )
    report_max_days: int = Field(
        default=366, ge=1, le=3660, description="Longest period one transparency report may cover (refused beyond)."
    )
    raise_alerts: bool = Field(default=True, description="Raise a detections alert when a control starts failing.")
    alert_level: str = Field(default="high", pattern=r"^(low|medium|high|critical)$")
    collector_version: str = Field(default="1", min_length=1, description="Recorded in every evidence item.")

    @property
    def status_index(self) -> str:
        return f"{self.namespace}-compliance-status"
