"""Authorization codes (RFC 6749 4.1.2, OpenID Connect Core 3.1.2.5) in Redis: short-lived, one use, bound.

A code is stored under the SHA-256 of its value with everything the token request must match (client,
redirect URI, PKCE challenge) and everything the ID token must say (nonce, auth_time, amr, acr, session).
Redeeming it claims a `used` marker first (SET NX), so of two concurrent redemptions exactly one wins. The
marker outlives the code and records what the redemption issued; presenting the code again revokes that
(RFC 6749 4.1.2: "SHOULD revoke all tokens previously issued based on that authorization code").
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import cast

import redis
from pydantic import BaseModel, ConfigDict

from edgeauth.issuer.digest import digest

MAX_CODE_CHARS = 128


class AuthorizationCode(BaseModel):
    """What a code stands for; authlib's `AuthorizationCodeMixin` methods read it."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    redirect_uri: str
    scope: str
    subject: str
    session_id: str
    # When that sign-in session ends: the refresh-token family the code starts ends then too.
    session_expires_at: int | None = None
    nonce: str | None = None
    auth_time: int
    amr: tuple[str, ...] = ()
    acr: str | None = None
    code_challenge: str
    code_challenge_method: str
    expires_at: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str]:
        return list(self.amr)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class AuthorizationCodeStore:
    """Codes under `{prefix}:code:*`; `reuse_memory` is how long a redeemed code is remembered as used."""

    def __init__(self, client: redis.Redis, prefix: str, *, ttl: int, reuse_memory: int) -> None:
        self._redis = client
        self._prefix = f"{prefix}:code"
        self._ttl = ttl
        self._reuse_memory = reuse_memory

    def _key(self, digest: str) -> str:
        return f"{self._prefix}:live:{digest}"

    def _used(self, digest: str) -> str:
        return f"{self._prefix}:used:{digest}"

    def _nonce(self, client_id: str, nonce: str) -> str:
        hashed = hashlib.sha256(f"{client_id}\x00{nonce}".encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self._prefix}:nonce:{hashed}"

    def save(self, record: AuthorizationCode) -> str:
        """A new code for `record`; its nonce is remembered for the code's life, so it cannot be reused."""
        code = secrets.token_urlsafe(32)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(digest(code)), record.model_dump_json(), exat=record.expires_at)
            if record.nonce:
                pipe.set(self._nonce(record.client_id, record.nonce), b"1", ex=self._ttl * 2)
            pipe.execute()
        return code

    def new_expiry(self) -> int:
        return int(time.time()) + self._ttl

    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        return bool(self._redis.exists(self._nonce(client_id, nonce)))

    def redeem(self, code: str, client_id: str) -> tuple[AuthorizationCode | None, dict[str, str] | None]:
        """(the code's record, None) for its first redemption by its own client; (None, what the first
        redemption issued) when it was redeemed before; (None, None) for an unknown, expired or foreign code."""
        if not isinstance(code, str) or not 0 < len(code) <= MAX_CODE_CHARS:
            return None, None
        code_digest = digest(code)
        raw = cast(bytes | str | None, self._redis.get(self._key(code_digest)))
        if raw is None:
            issued = self._issued(self._used(code_digest))
            return None, issued or None
        record = AuthorizationCode.model_validate_json(raw)
        if record.client_id != client_id:
            # Another client's code: refused without consuming it (RFC 6749 4.1.3), nothing to revoke.
            return None, None
        used = self._used(code_digest)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(used, "claimed", str(int(time.time())))
            pipe.expire(used, self._reuse_memory)
            pipe.delete(self._key(code_digest))
            first, _expire, _deleted = pipe.execute()
        if not first:
            return None, self._issued(used)
        return record, None

    def _issued(self, key: str) -> dict[str, str]:
        raw = cast(dict[bytes | str, bytes | str], self._redis.hgetall(key))
        return {_text(k): _text(v) for k, v in raw.items()}

    def record_issued(
        self, code: str, *, jti: str, expires_at: int, family: str | None, family_expires_at: int
    ) -> None:
        """Remember what redeeming `code` issued, so presenting it again can revoke exactly that."""
        fields = {"jti": jti, "exp": str(expires_at)}
        if family is not None:
            fields |= {"family": family, "family_exp": str(family_expires_at)}
        self._redis.hset(self._used(digest(code)), mapping=fields)
