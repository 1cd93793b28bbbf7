"""Settings of the availability canaries (`VIGIL_CANARY__*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BurnWindow(BaseModel):
    """One multi-window burn-rate condition: alert when both windows burn the budget at least `factor` times
    faster than the budget period allows (the short window makes the alert stop soon after the burn stops)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    long_seconds: int = Field(ge=60, description="The long window, e.g. 3600.")
    short_seconds: int = Field(ge=30, description="The short window, e.g. 300 (a twelfth of the long one).")
    factor: float = Field(gt=0, description="Burn rate that alerts, e.g. 14.4 (2 % of a 30-day budget in 1 h).")
    level: str = Field(default="high", pattern=r"^(low|medium|high|critical)$")

    @model_validator(mode="after")
    def _short_within_long(self) -> BurnWindow:
        if self.short_seconds >= self.long_seconds:
            raise ValueError("the short window must be shorter than the long one")
        return self

    @property
    def label(self) -> str:
        return f"{_span(self.long_seconds)}/{_span(self.short_seconds)}"


def _span(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


DEFAULT_BURN_WINDOWS = (
    BurnWindow(long_seconds=3600, short_seconds=300, factor=14.4, level="critical"),
    BurnWindow(long_seconds=6 * 3600, short_seconds=1800, factor=6.0, level="high"),
)


class CanarySettings(BaseModel):
    """`VIGIL_CANARY__*`: where the canaries go and how often beat sends them.

    With `definitions` unset, one canary (tier `default`) is built from `client_id`, `path`, `scopes` and
    `interval_seconds`; with a file (`deploy/canaries.yaml` shows one), each definition there is its own tier.
    """

    enabled: bool = Field(default=False, description="Let beat run the canaries (the demo turns it on).")
    issuer_url: str = Field(default="http://127.0.0.1:8000", description="The Vigil app (token endpoint, ingest).")
    proxy_url: str = Field(default="http://127.0.0.1:8080", description="nginx in front of the storefront.")
    path: str = Field(default="/api/orders", pattern=r"^/", description="Storefront route the canary calls.")
    client_id: str = Field(default="vigil-canary", min_length=1, description="The canary's edgeauth client.")
    scopes: tuple[str, ...] = Field(default=("orders:read", "ingest:write"))
    probes: int = Field(default=3, ge=1, le=100, description="Probes per run.")
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    interval_seconds: int = Field(default=300, ge=10, description="Beat period; three missed periods alert.")
    definitions: Path | None = Field(
        default=None, description="A canary definitions file (YAML), one entry per tier; relative to the cwd."
    )
    burn_windows: tuple[BurnWindow, ...] = Field(
        default=DEFAULT_BURN_WINDOWS, description="Multi-window burn-rate conditions against the error budget."
    )
