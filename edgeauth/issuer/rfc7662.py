"""RFC 7662 token introspection on authlib's `IntrospectionEndpoint`; the caller authenticates as a client.

A client may introspect its own tokens; an `edge` or `admin` client (a resource server or an operator) may
introspect any. Everyone else learns only `{"active": false}` (RFC 7662 section 2.2).
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import rfc7662

from edgeauth.issuer.grants import TOKEN_AUTH_METHODS
from edgeauth.issuer.server import OAuthRequest, RegisteredClient
from edgeauth.issuer.tokens import IssuedToken, IssuedTokenLookup, RevocationLedger

PRIVILEGED_ROLES = frozenset({"edge", "admin"})


class IntrospectionEndpoint(IssuedTokenLookup, rfc7662.IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def __init__(self, ledger: RevocationLedger, issuer: str) -> None:
        super().__init__(server=None)
        self.ledger = ledger
        self.issuer = issuer

    def check_permission(self, token: IssuedToken, client: RegisteredClient, request: OAuthRequest) -> bool:
        record = client.record
        if record is None:
            return False
        return token.check_client(client) or record.role in PRIVILEGED_ROLES or "admin" in record.scopes

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        body: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "client_id": token.client_id,
            "sub": token.subject,
            "scope": token.get_scope(),
            "aud": list(token.audiences),
            "iss": self.issuer,
            "exp": token.expires_at,
        }
        if token.claims is not None:
            body.update(iat=token.issued_at, nbf=token.claims.get("nbf"), jti=token.jti)
            if "engagement" in token.claims:
                body["engagement"] = token.claims["engagement"]
        return body
