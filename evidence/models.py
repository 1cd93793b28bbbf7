"""Pydantic models at the package boundary: what collectors append, what readers and auditors get back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(min_length=1, max_length=256, strip_whitespace=True)]
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
MediaType = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+(;.*)?$", max_length=200)]

GENESIS_HASH = "0" * 64
RECORD_SCHEMA = 1


class EvidenceSpec(BaseModel):
    """Everything a collector states about one piece of evidence (the content travels separately)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    collector: Name
    collector_version: Name
    source_system: Name
    query: str = Field(max_length=65536, description="The exact query that produced the content.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="The query parameters (JSON values).")
    effective_at: AwareDatetime = Field(description="The moment the evidence describes.")
    collected_at: AwareDatetime = Field(description="The moment the collector read it.")
    control_ids: tuple[Name, ...] = Field(default=(), description="Control ids the evidence supports.")
    media_type: MediaType = "application/octet-stream"
    freshness_seconds: int | None = Field(default=None, gt=0, description="None: the locker's default window.")


class EvidenceItem(BaseModel):
    """One locker entry as readers see it. `stale` is judged against `as_of`, never stored as current."""

    model_config = ConfigDict(frozen=True)

    sequence: int
    collector: str
    collector_version: str
    source_system: str
    query: str
    parameters: dict[str, Any]
    effective_at: datetime
    collected_at: datetime
    fresh_until: datetime
    control_ids: tuple[str, ...]
    media_type: str
    sha256: Hex64
    size: int
    prev_hash: Hex64
    record_digest: Hex64
    entry_hash: Hex64
    appended_at: datetime
    stale: bool
    as_of: datetime


class ChainHead(BaseModel):
    model_config = ConfigDict(frozen=True)

    sequence: int
    entry_hash: Hex64


class LockerReport(BaseModel):
    """The outcome of `verify-locker`: every problem named, empty when the chain holds."""

    entries: int
    head: ChainHead | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


class SigningKeyPublic(BaseModel):
    """A bundle signing key as published: never the private half."""

    model_config = ConfigDict(frozen=True)

    kid: str
    alg: str = "Ed25519"
    public_key_pem: str
    created_at: datetime
    retired_at: datetime | None = None
    active: bool


class BundleInfo(BaseModel):
    """A built bundle as listed to auditors."""

    model_config = ConfigDict(frozen=True)

    name: str
    sha256: Hex64
    size: int
    period_from: datetime
    period_to: datetime
    controls: tuple[str, ...]
    items: int
    first_sequence: int
    last_sequence: int
    kid: str
    built_at: datetime


class BundleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period_from: AwareDatetime = Field(alias="from")
    period_to: AwareDatetime = Field(alias="to")
    controls: tuple[Name, ...] = ()


class VerificationReport(BaseModel):
    """The outcome of offline verification of a bundle or a signed report (`format` says which)."""

    problems: list[str]
    files_checked: int
    items: int
    kid: str | None
    format: str | None = None
    client: str | None = Field(default=None, description="The client a signed report is about.")

    @property
    def ok(self) -> bool:
        return not self.problems
