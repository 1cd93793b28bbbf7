"""Settings of the availability canary (`VIGIL_CANARY__*`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CanarySettings(BaseModel):
    """`VIGIL_CANARY__*`: where the canary goes and how often beat sends it."""

    enabled: bool = Field(default=False, description="Let beat run the canary (the demo turns it on).")
    issuer_url: str = Field(default="http://127.0.0.1:8000", description="The Vigil app (token endpoint, ingest).")
    proxy_url: str = Field(default="http://127.0.0.1:8080", description="nginx in front of the storefront.")
    path: str = Field(default="/api/orders", pattern=r"^/", description="Storefront route the canary calls.")
    client_id: str = Field(default="vigil-canary", min_length=1, description="The canary's edgeauth client.")
    scopes: tuple[str, ...] = Field(default=("orders:read", "ingest:write"))
    probes: int = Field(default=3, ge=1, le=100, description="Probes per run.")
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    interval_seconds: int = Field(default=300, ge=10, description="Beat period; three missed periods alert.")
