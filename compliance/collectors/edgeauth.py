"""Collectors of edgeauth: signing keys and rotations, token policy, the client registry, holders, revocations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from compliance.collectors.base import Sources, register
from compliance.collectors.sources import ClientSource, KeySource
from compliance.evidence import (
    AccessHolders,
    ClientFacts,
    ClientRegistry,
    KeyFacts,
    RotationFacts,
    SigningKeyInventory,
    TokenPolicy,
)
from edgeauth import EdgeAuthSettings


@dataclass
class SigningKeysCollector:
    name: ClassVar[str] = SigningKeyInventory.kind
    source_system: ClassVar[str] = "edgeauth"
    query: ClassVar[str] = "edgeauth key store: inventory() and history(limit=10000)"
    source: KeySource

    def parameters(self) -> dict[str, Any]:
        return {}

    def collect(self, now: datetime) -> SigningKeyInventory:
        keys = sorted(self.source.inventory(), key=lambda k: (k.created_at, k.kid))
        rotations = sorted(self.source.history(limit=10_000), key=lambda r: (r.timestamp, r.kid))
        return SigningKeyInventory(
            keys=tuple(
                KeyFacts(
                    kid=k.kid,
                    alg=k.alg,
                    state=k.state,
                    created_at=k.created_at,
                    activated_at=k.activated_at,
                    retired_at=k.retired_at,
                )
                for k in keys
            ),
            rotations=tuple(
                RotationFacts(
                    timestamp=r.timestamp, kid=r.kid, from_state=r.from_state, to_state=r.to_state, reason=r.reason
                )
                for r in rotations
            ),
        )


@dataclass
class TokenPolicyCollector:
    name: ClassVar[str] = TokenPolicy.kind
    source_system: ClassVar[str] = "edgeauth"
    query: ClassVar[str] = "EdgeAuthSettings: issuer, signing_algorithm, allowed_algorithms, access_token_ttl, leeway"
    settings: EdgeAuthSettings

    def parameters(self) -> dict[str, Any]:
        return {"issuer": self.settings.issuer}

    def collect(self, now: datetime) -> TokenPolicy:
        return TokenPolicy(
            issuer=self.settings.issuer,
            signing_algorithm=self.settings.signing_algorithm,
            allowed_algorithms=tuple(self.settings.allowed_algorithms),
            access_token_ttl_seconds=self.settings.access_token_ttl,
            leeway_seconds=self.settings.leeway,
        )


def _client_facts(source: ClientSource) -> tuple[ClientFacts, ...]:
    return tuple(
        ClientFacts(
            client_id=c.client_id,
            role=c.role,
            scopes=tuple(sorted(c.scopes)),
            disabled=c.disabled,
            created_at=c.created_at,
            reviewed_at=c.reviewed_at,
            reviewed_by=c.reviewed_by,
        )
        for c in sorted(source.list_clients(), key=lambda c: c.client_id)
    )


@dataclass
class ClientsCollector:
    name: ClassVar[str] = ClientRegistry.kind
    source_system: ClassVar[str] = "edgeauth"
    query: ClassVar[str] = "edgeauth client registry: every client, its role, scopes and review"
    source: ClientSource

    def parameters(self) -> dict[str, Any]:
        return {}

    def collect(self, now: datetime) -> ClientRegistry:
        return ClientRegistry(clients=_client_facts(self.source))


@dataclass
class AccessHoldersCollector:
    name: ClassVar[str] = AccessHolders.kind
    source_system: ClassVar[str] = "edgeauth"
    query: ClassVar[str] = "edgeauth client registry: enabled clients per privileged role"
    source: ClientSource
    roles: tuple[str, ...]

    def parameters(self) -> dict[str, Any]:
        return {"roles": list(self.roles)}

    def collect(self, now: datetime) -> AccessHolders:
        clients = [c for c in _client_facts(self.source) if not c.disabled]
        return AccessHolders(
            holders={role: tuple(c.client_id for c in clients if c.role == role) for role in sorted(self.roles)}
        )


@register(SigningKeyInventory.kind)
def _signing_keys(sources: Sources) -> SigningKeysCollector | None:
    return SigningKeysCollector(sources.keys) if sources.keys else None


@register(TokenPolicy.kind)
def _token_policy(sources: Sources) -> TokenPolicyCollector | None:
    return TokenPolicyCollector(sources.edgeauth) if sources.edgeauth else None


@register(ClientRegistry.kind)
def _clients(sources: Sources) -> ClientsCollector | None:
    return ClientsCollector(sources.clients) if sources.clients else None


@register(AccessHolders.kind)
def _holders(sources: Sources) -> AccessHoldersCollector | None:
    return AccessHoldersCollector(sources.clients, sources.settings.privileged_roles) if sources.clients else None
