"""edgeauth: access-token issuance and edge verification (RFC 9068 JWTs checked the RFC 8725 way).

Names load on first use: the edge verifier process imports only the modules of its hot path, not the
issuer (authlib), the FastAPI adapters or pyjwt.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeauth.audit import (
        AuditBuffer,
        AuditCategory,
        AuditEvent,
        AuditSink,
        AuditType,
        AuditValue,
        CollectingAuditSink,
    )
    from edgeauth.decisions import CollectingSink, DecisionBuffer, DecisionRecord, DecisionSink
    from edgeauth.edge import (
        ClientAddress,
        EdgeAuthMiddleware,
        EdgeRuntime,
        Guard,
        JwksCache,
        RequestContext,
        Verifier,
        create_verify_router,
        http_jwks_source,
    )
    from edgeauth.errors import (
        EdgeAuthConfigurationError,
        EdgeAuthError,
        InsufficientScope,
        KeyStoreError,
        RevocationError,
        VerificationError,
    )
    from edgeauth.keys import SigningKey, VerificationKey
    from edgeauth.keystore import KeyStore, sealer_for
    from edgeauth.models import DecisionEvent, KeyInfo, Principal, RotationRecord
    from edgeauth.revocation import RevocationPublisher, RevocationReplica
    from edgeauth.rfc9068 import mint_access_token
    from edgeauth.sealing import Sealer, SharedSecret
    from edgeauth.settings import EdgeAuthSettings, RoutePolicy, ScopeRule

__all__ = [
    "AuditBuffer",
    "AuditCategory",
    "AuditEvent",
    "AuditSink",
    "AuditType",
    "AuditValue",
    "ClientAddress",
    "CollectingAuditSink",
    "CollectingSink",
    "DecisionBuffer",
    "DecisionEvent",
    "DecisionRecord",
    "DecisionSink",
    "EdgeAuthConfigurationError",
    "EdgeAuthError",
    "EdgeAuthMiddleware",
    "EdgeAuthSettings",
    "EdgeRuntime",
    "Guard",
    "InsufficientScope",
    "JwksCache",
    "KeyInfo",
    "KeyStore",
    "KeyStoreError",
    "Principal",
    "RequestContext",
    "RevocationError",
    "RevocationPublisher",
    "RevocationReplica",
    "RotationRecord",
    "RoutePolicy",
    "ScopeRule",
    "Sealer",
    "SharedSecret",
    "SigningKey",
    "VerificationError",
    "VerificationKey",
    "Verifier",
    "create_verify_router",
    "http_jwks_source",
    "mint_access_token",
    "sealer_for",
]

# name -> (module, name there)
_MODULES = {
    "AuditBuffer": ("edgeauth.audit", "AuditBuffer"),
    "AuditCategory": ("edgeauth.audit", "AuditCategory"),
    "AuditEvent": ("edgeauth.audit", "AuditEvent"),
    "AuditSink": ("edgeauth.audit", "AuditSink"),
    "AuditType": ("edgeauth.audit", "AuditType"),
    "AuditValue": ("edgeauth.audit", "AuditValue"),
    "ClientAddress": ("edgeauth.edge", "ClientAddress"),
    "CollectingAuditSink": ("edgeauth.audit", "CollectingAuditSink"),
    "CollectingSink": ("edgeauth.decisions", "CollectingSink"),
    "DecisionBuffer": ("edgeauth.decisions", "DecisionBuffer"),
    "DecisionEvent": ("edgeauth.models", "DecisionEvent"),
    "DecisionRecord": ("edgeauth.decisions", "DecisionRecord"),
    "DecisionSink": ("edgeauth.decisions", "DecisionSink"),
    "EdgeAuthConfigurationError": ("edgeauth.errors", "EdgeAuthConfigurationError"),
    "EdgeAuthError": ("edgeauth.errors", "EdgeAuthError"),
    "EdgeAuthMiddleware": ("edgeauth.edge", "EdgeAuthMiddleware"),
    "EdgeAuthSettings": ("edgeauth.settings", "EdgeAuthSettings"),
    "EdgeRuntime": ("edgeauth.edge", "EdgeRuntime"),
    "Guard": ("edgeauth.edge", "Guard"),
    "InsufficientScope": ("edgeauth.errors", "InsufficientScope"),
    "JwksCache": ("edgeauth.edge", "JwksCache"),
    "KeyInfo": ("edgeauth.models", "KeyInfo"),
    "KeyStore": ("edgeauth.keystore", "KeyStore"),
    "KeyStoreError": ("edgeauth.errors", "KeyStoreError"),
    "Principal": ("edgeauth.models", "Principal"),
    "RequestContext": ("edgeauth.edge", "RequestContext"),
    "RevocationError": ("edgeauth.errors", "RevocationError"),
    "RevocationPublisher": ("edgeauth.revocation", "RevocationPublisher"),
    "RevocationReplica": ("edgeauth.revocation", "RevocationReplica"),
    "RotationRecord": ("edgeauth.models", "RotationRecord"),
    "RoutePolicy": ("edgeauth.settings", "RoutePolicy"),
    "ScopeRule": ("edgeauth.settings", "ScopeRule"),
    "SigningKey": ("edgeauth.keys", "SigningKey"),
    "VerificationError": ("edgeauth.errors", "VerificationError"),
    "VerificationKey": ("edgeauth.keys", "VerificationKey"),
    "Verifier": ("edgeauth.edge", "Verifier"),
    "create_verify_router": ("edgeauth.edge", "create_verify_router"),
    "http_jwks_source": ("edgeauth.edge", "http_jwks_source"),
    "mint_access_token": ("edgeauth.rfc9068", "mint_access_token"),
    "Sealer": ("edgeauth.sealing", "Sealer"),
    "SharedSecret": ("edgeauth.sealing", "SharedSecret"),
    "sealer_for": ("edgeauth.keystore", "sealer_for"),
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MODULES[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # once loaded, a plain module attribute
    return value
