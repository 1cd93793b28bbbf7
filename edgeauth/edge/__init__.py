"""The edge verifier: local JWKS copy, RFC 8725 checks, verified-token cache and its HTTP adapters."""

from edgeauth.edge.asgi import EdgeApp, VerifyEndpoint
from edgeauth.edge.http import EdgeAuthMiddleware, Guard, create_verify_router
from edgeauth.edge.jwks import JwksCache, http_jwks_source
from edgeauth.edge.request import ClientAddress
from edgeauth.edge.runtime import EdgeRuntime
from edgeauth.edge.verifier import RequestContext, RevocationView, Verified, Verifier

__all__ = [
    "ClientAddress",
    "EdgeApp",
    "EdgeAuthMiddleware",
    "EdgeRuntime",
    "Guard",
    "JwksCache",
    "RequestContext",
    "RevocationView",
    "Verified",
    "Verifier",
    "VerifyEndpoint",
    "create_verify_router",
    "http_jwks_source",
]
