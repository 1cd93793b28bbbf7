"""The edge verifier: local JWKS copy, RFC 8725 checks, verified-token cache and its HTTP adapters.

Names load on first use, so the bare ASGI edge process never imports the FastAPI adapters.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# name -> (module, name there)
_MODULES = {
    "ClientAddress": ("edgeauth.edge.request", "ClientAddress"),
    "EdgeApp": ("edgeauth.edge.asgi", "EdgeApp"),
    "EdgeAuthMiddleware": ("edgeauth.edge.http", "EdgeAuthMiddleware"),
    "EdgeRuntime": ("edgeauth.edge.runtime", "EdgeRuntime"),
    "Guard": ("edgeauth.edge.http", "Guard"),
    "JwksCache": ("edgeauth.edge.jwks", "JwksCache"),
    "RequestContext": ("edgeauth.edge.verifier", "RequestContext"),
    "RevocationView": ("edgeauth.edge.verifier", "RevocationView"),
    "Verified": ("edgeauth.edge.verifier", "Verified"),
    "Verifier": ("edgeauth.edge.verifier", "Verifier"),
    "VerifyEndpoint": ("edgeauth.edge.asgi", "VerifyEndpoint"),
    "create_verify_router": ("edgeauth.edge.http", "create_verify_router"),
    "http_jwks_source": ("edgeauth.edge.jwks", "http_jwks_source"),
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MODULES[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # once loaded, a plain module attribute
    return value
