"""RFC 6750: bearer token usage. Reading the `Authorization: Bearer` header (section 2.1)."""

from __future__ import annotations

from edgeauth.errors import MalformedToken, MissingToken


def bearer_token(authorization: str | None) -> str:
    """The token of an RFC 6750 `Authorization: Bearer` header, else a `VerificationError`."""
    if not authorization:
        raise MissingToken("a bearer token is required")
    # The form every client sends, checked without copying the header twice; anything else takes the long way.
    if authorization.startswith("Bearer ") and authorization.find(" ", 7) < 0 and len(authorization) > 7:
        token = authorization[7:]
        if token.isprintable() and not token[-1].isspace():
            return token
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise MissingToken("a bearer token is required")
    token = token.strip()
    if not token or " " in token:
        raise MalformedToken("the Authorization header is not `Bearer <token>`")
    return token
