"""RFC 6750: bearer token usage. Reading the `Authorization: Bearer` header (section 2.1)."""

from __future__ import annotations

from edgeauth.errors import MalformedToken, MissingToken


def bearer_token(authorization: str | None) -> str:
    """The token of an RFC 6750 `Authorization: Bearer` header, else a `VerificationError`."""
    if not authorization:
        raise MissingToken("a bearer token is required")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise MissingToken("a bearer token is required")
    token = token.strip()
    if not token or " " in token:
        raise MalformedToken("the Authorization header is not `Bearer <token>`")
    return token
