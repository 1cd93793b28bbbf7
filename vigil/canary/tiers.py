"""Canary definitions: one per SLA tier, from a validated YAML file (`VIGIL_CANARY__DEFINITIONS`) or settings.

A definition says which client(s) the canary stands for, which endpoints it calls through which proxy (nginx and
the edge behind it), how often, with which objectives, and as which OAuth client with which scopes. The file is
data checked at load: unknown keys, duplicate names, tiers or client ids, and bad objectives are one-line errors
naming the entry and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from compliance import SlaObjectives
from vigil.canary.settings import CanarySettings
from vigil.errors import ConfigurationError

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Scope = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]*(:[a-z0-9_.-]+)?$")]
EndpointPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9/._~%-]*$", max_length=512)]


class CanaryDefinition(BaseModel):
    """One canary: a live dummy client of one tier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    tier: Name
    clients: tuple[ClientId, ...] = Field(min_length=1, description="The client ids this canary stands for.")
    client_id: ClientId = Field(description="The canary's own OAuth client (created on first run).")
    scopes: tuple[Scope, ...] = Field(min_length=1, description="The tier's scopes; `ingest:write` for the marker.")
    endpoints: tuple[EndpointPath, ...] = Field(min_length=1, description="Routes called through the proxy.")
    proxy_url: str | None = Field(
        default=None, pattern=r"^https?://[^/\s]+$", description="nginx in front of the edge; default the setting."
    )
    interval_seconds: int = Field(ge=10, le=86400)
    probes: int = Field(default=3, ge=1, le=100)
    objectives: SlaObjectives

    @model_validator(mode="after")
    def _marker_can_be_sent(self) -> CanaryDefinition:
        if "ingest:write" not in self.scopes:
            raise ValueError("scopes must include ingest:write (the canary ingests a marker event each probe)")
        return self


class CanaryFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    canaries: tuple[CanaryDefinition, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CanaryFile:
        for field in ("name", "tier", "client_id"):
            values = [getattr(c, field) for c in self.canaries]
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"{field} must be unique; repeated: {', '.join(twice)}")
        return self


def parse_definitions(text: str, source: str = "canaries") -> tuple[CanaryDefinition, ...]:
    """The definitions in a YAML text, or one `ConfigurationError` naming the entry and field at fault."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError(f"{source}: not valid YAML{where}") from None
    try:
        return CanaryFile.model_validate(data).canaries
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        if len(loc) >= 2 and loc[0] == "canaries" and isinstance(loc[1], int) and isinstance(data, dict):
            entries = data.get("canaries")
            entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            loc[1] = f"{loc[1]}({name})" if isinstance(name, str) else loc[1]
        where = ".".join(str(p) for p in loc) or "file"
        raise ConfigurationError(f"{source}: {where}: {first['msg']}") from None


def default_definition(settings: CanarySettings) -> CanaryDefinition:
    """The one canary of a deployment without a definitions file: tier `default`, standing for itself."""
    return CanaryDefinition(
        name="default",
        tier="default",
        clients=(settings.client_id,),
        client_id=settings.client_id,
        scopes=settings.scopes,
        endpoints=(settings.path,),
        interval_seconds=settings.interval_seconds,
        probes=settings.probes,
        objectives=SlaObjectives(availability_percent=99.9, latency_ms=1000, latency_percentile=95),
    )


def load_definitions(settings: CanarySettings) -> tuple[CanaryDefinition, ...]:
    if settings.definitions is None:
        return (default_definition(settings),)
    path = Path(settings.definitions)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read VIGIL_CANARY__DEFINITIONS {path}: {exc.strerror}") from None
    return parse_definitions(text, str(path))


def select(definitions: tuple[CanaryDefinition, ...], tier: str | None) -> tuple[CanaryDefinition, ...]:
    if tier is None:
        return definitions
    chosen = tuple(d for d in definitions if d.tier == tier)
    if not chosen:
        known = ", ".join(d.tier for d in definitions)
        raise ConfigurationError(f"no canary of tier {tier!r}; defined tiers: {known}")
    return chosen
