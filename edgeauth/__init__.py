"""edgeauth: access-token issuance and edge verification (RFC 9068 JWTs checked the RFC 8725 way)."""

from edgeauth.audit import AuditBuffer, AuditCategory, AuditEvent, AuditSink, CollectingAuditSink
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
from edgeauth.keystore import KeyStore
from edgeauth.models import DecisionEvent, KeyInfo, Principal, RotationRecord
from edgeauth.revocation import RevocationPublisher, RevocationReplica
from edgeauth.rfc9068 import mint_access_token
from edgeauth.settings import EdgeAuthSettings, RoutePolicy, ScopeRule

__all__ = [
    "AuditBuffer",
    "AuditCategory",
    "AuditEvent",
    "AuditSink",
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
    "SigningKey",
    "VerificationError",
    "VerificationKey",
    "Verifier",
    "create_verify_router",
    "http_jwks_source",
    "mint_access_token",
]
