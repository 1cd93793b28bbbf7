"""Evidence as compliance writes and reads it: one typed payload per collector, and the set checks consume.

A payload is canonical JSON in a locker item whose `collector` names the payload kind, so an auditor holding a
bundle decodes exactly what the checks decoded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from compliance.errors import EvidenceFormatError
from compliance.payload import Payload as Payload  # re-exported: collectors and tests build on it here
from compliance.settings import Thresholds
from compliance.sla import CanaryRun

MEDIA_TYPE = "application/json"


class KeyFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    kid: str
    alg: str
    state: str
    created_at: AwareDatetime
    activated_at: AwareDatetime | None = None
    retired_at: AwareDatetime | None = None


class RotationFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    timestamp: AwareDatetime
    kid: str
    from_state: str | None
    to_state: str
    reason: str


class SigningKeyInventory(Payload):
    kind: ClassVar[str] = "edgeauth.signing_keys"
    keys: tuple[KeyFacts, ...]
    rotations: tuple[RotationFacts, ...] = ()


class TokenPolicy(Payload):
    kind: ClassVar[str] = "edgeauth.token_policy"
    issuer: str
    signing_algorithm: str
    allowed_algorithms: tuple[str, ...]
    access_token_ttl_seconds: int
    leeway_seconds: int


class ClientFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    client_id: str
    role: str
    scopes: tuple[str, ...]
    disabled: bool
    created_at: AwareDatetime
    reviewed_at: AwareDatetime | None = None
    reviewed_by: str | None = None


class ClientRegistry(Payload):
    """An access-review snapshot: every client, its role and scopes, when it was last reviewed."""

    kind: ClassVar[str] = "edgeauth.clients"
    clients: tuple[ClientFacts, ...]


class AccessHolders(Payload):
    """Who holds analyst, admin and auditor access, derived from the registry at the same moment."""

    kind: ClassVar[str] = "edgeauth.access_holders"
    holders: dict[str, tuple[str, ...]]


class RevocationFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    jti: str
    revoked_at: AwareDatetime | None = None
    client_id: str | None = None


class Revocations(Payload):
    kind: ClassVar[str] = "edgeauth.revocations"
    revocations: tuple[RevocationFacts, ...]


class SourceFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    dataset: str
    service: str
    last_event_at: AwareDatetime | None
    events_24h: int = Field(ge=0)


class IngestionHealth(Payload):
    kind: ClassVar[str] = "siem.ingestion"
    sources: tuple[SourceFacts, ...]
    deadletter_24h: int = Field(ge=0)
    deadletter_total: int = Field(ge=0)


class DeletionFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    timestamp: AwareDatetime
    index: str
    index_day: str
    retention_days: int
    docs: int


class Retention(Payload):
    kind: ClassVar[str] = "siem.retention"
    retention_days: int
    deadletter_retention_days: int
    oldest_index_day: str | None
    deletions: tuple[DeletionFacts, ...] = ()


class RuleFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    rule_id: str
    title: str = ""
    enabled: bool = True
    last_run_at: AwareDatetime | None = None
    last_success_at: AwareDatetime | None = None
    failing_since: AwareDatetime | None = None
    last_error: str | None = None


class RuleHealth(Payload):
    kind: ClassVar[str] = "detections.rules"
    rules: tuple[RuleFacts, ...]


class AlertFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    alert_id: str
    level: str
    category: str = "detection"
    created_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    status: str


class TriageSummary(BaseModel):
    """Triage times of one severity in the collection window (seconds; None when nothing was acknowledged)."""

    model_config = ConfigDict(frozen=True)
    level: str
    alerts: int
    acknowledged: int
    mean_seconds_to_ack: float | None
    max_seconds_to_ack: float | None


class AlertTriage(Payload):
    kind: ClassVar[str] = "detections.alerts"
    window_from: AwareDatetime
    window_to: AwareDatetime
    alerts: tuple[AlertFacts, ...]
    by_level: tuple[TriageSummary, ...] = ()


class DownloadFacts(BaseModel):
    model_config = ConfigDict(frozen=True)
    at: AwareDatetime
    subject: str
    client_id: str
    bundle: str
    sha256: str


class EvidenceDownloads(Payload):
    kind: ClassVar[str] = "evidence.downloads"
    window_from: AwareDatetime
    window_to: AwareDatetime
    downloads: tuple[DownloadFacts, ...]


class ComplianceConfig(Payload):
    """The thresholds and scope in force when a collection ran: the basis of loosening detection."""

    kind: ClassVar[str] = "compliance.config"
    scope: tuple[str, ...]
    thresholds: Thresholds


PAYLOADS: dict[str, type[Payload]] = {
    p.kind: p
    for p in (
        SigningKeyInventory,
        TokenPolicy,
        ClientRegistry,
        AccessHolders,
        Revocations,
        IngestionHealth,
        Retention,
        RuleHealth,
        AlertTriage,
        EvidenceDownloads,
        ComplianceConfig,
        CanaryRun,
    )
}

P = TypeVar("P", bound=Payload)


class Evidence(BaseModel):
    """One decoded evidence item: its locker id, when it describes, and the typed payload."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    effective_at: AwareDatetime
    sha256: str
    payload: Payload

    @classmethod
    def decode(cls, *, id: str, kind: str, effective_at: datetime, sha256: str, content: bytes) -> Evidence:
        model = PAYLOADS.get(kind)
        if model is None:
            raise EvidenceFormatError(f"evidence {id}: unknown compliance evidence kind {kind!r}")
        try:
            payload = model.model_validate_json(content)
        except ValidationError as exc:
            raise EvidenceFormatError(
                f"evidence {id} ({kind}): content does not parse: {exc.errors()[0]['msg']}"
            ) from None
        return cls(id=id, kind=kind, effective_at=effective_at, sha256=sha256, payload=payload)


class EvidenceSet:
    """The evidence of one period, in effective-time order (ties broken by id), so checks are deterministic."""

    def __init__(self, items: Iterable[Evidence]) -> None:
        self.items: tuple[Evidence, ...] = tuple(sorted(items, key=lambda e: (e.effective_at, _id_key(e.id))))

    def of(self, model: type[P]) -> list[tuple[Evidence, P]]:
        return [(e, e.payload) for e in self.items if isinstance(e.payload, model)]

    def kinds(self) -> dict[str, list[Evidence]]:
        grouped: dict[str, list[Evidence]] = {}
        for item in self.items:
            grouped.setdefault(item.kind, []).append(item)
        return grouped

    def __len__(self) -> int:
        return len(self.items)


def _id_key(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (0, value)
