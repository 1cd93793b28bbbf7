"""Boundary models of edgeauth: the verified identity, decision events and key-rotation records."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KeyState = Literal["next", "active", "retired", "removed"]
DecisionOutcome = Literal["success", "failure"]
DecisionAction = Literal["verify", "token", "revoke", "introspect", "client_auth"]


class Principal(BaseModel):
    """Who a verified access token speaks for."""

    model_config = ConfigDict(frozen=True)

    subject: str
    client_id: str
    scopes: frozenset[str]
    audience: tuple[str, ...]
    token_id: str
    issued_at: datetime
    expires_at: datetime
    claims: dict[str, Any] = Field(default_factory=dict)

    def has_scopes(self, *scopes: str) -> bool:
        return self.scopes.issuperset(scopes)


class DecisionEvent(BaseModel):
    """One authentication decision, handed to the SIEM (`event.dataset: auth`)."""

    model_config = ConfigDict(frozen=True)

    timestamp: datetime
    outcome: DecisionOutcome
    reason: str
    action: DecisionAction = "verify"
    subject: str | None = None
    client_id: str | None = None
    scopes: tuple[str, ...] = ()
    jti: str | None = None
    kid: str | None = None
    alg: str | None = None
    source_ip: str | None = None
    method: str | None = None
    path: str | None = None
    latency_us: int = 0
    request_id: str | None = None


class RotationRecord(BaseModel):
    """One entry of the key-rotation log: a key changed state."""

    model_config = ConfigDict(frozen=True)

    timestamp: datetime
    kid: str
    alg: str
    from_state: KeyState | None
    to_state: KeyState
    reason: str


class KeyInfo(BaseModel):
    """Public facts about one key of the store (never the private key)."""

    model_config = ConfigDict(frozen=True)

    kid: str
    alg: str
    state: KeyState
    created_at: datetime
    activated_at: datetime | None = None
    retired_at: datetime | None = None
    removable_after: datetime | None = None
