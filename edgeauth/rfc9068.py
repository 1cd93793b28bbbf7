"""RFC 9068: JSON Web Token profile for OAuth 2.0 access tokens (`typ: at+jwt`)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from edgeauth.keys import SigningKey

TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"})


def mint_access_token(
    key: SigningKey,
    *,
    issuer: str,
    subject: str,
    audience: str | Iterable[str],
    client_id: str,
    scopes: Iterable[str],
    ttl: int,
    now: float | None = None,
    jti: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Sign an RFC 9068 access token; `extra_claims` may not override a registered claim."""
    issued = int(time.time() if now is None else now)
    audiences = [audience] if isinstance(audience, str) else list(audience)
    if not audiences:
        raise ValueError("an access token needs at least one audience")
    extra = dict(extra_claims or {})
    clash = REGISTERED_CLAIMS.intersection(extra)
    if clash:
        raise ValueError(f"extra claims may not override {sorted(clash)}")
    claims: dict[str, Any] = {
        **extra,
        "iss": issuer,
        "sub": subject,
        "aud": audiences[0] if len(audiences) == 1 else audiences,
        "exp": issued + ttl,
        "iat": issued,
        "nbf": issued,
        "jti": jti or uuid.uuid4().hex,
        "client_id": client_id,
        "scope": " ".join(sorted(set(scopes))),
    }
    return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"typ": TOKEN_TYPE, "kid": key.kid})
