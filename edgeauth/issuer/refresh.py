"""Refresh tokens with rotation and reuse detection (OAuth 2.0 Security BCP, RFC 9700 section 4.14.2).

Each refresh token belongs to a family started by one grant. Using a token consumes it and hands out its
successor; presenting a consumed token again means it leaked, so the whole family is revoked, including the
access tokens it minted. Only SHA-256 digests of refresh tokens are stored.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, cast

import redis
from pydantic import BaseModel, ConfigDict

from edgeauth.issuer.digest import digest

MAX_REFRESH_TOKEN_CHARS = 256


class RefreshRecord(BaseModel):
    """What a refresh token stands for; stored under the digest of the token."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    subject: str
    scopes: tuple[str, ...]
    audiences: tuple[str, ...]
    family: str
    family_expires_at: int
    expires_at: int
    # The issuer sign-in session a person's family started from (None for machine clients): logging out of it
    # revokes the family, and each refresh checks the person again.
    session_id: str | None = None

    def get_scope(self) -> str:
        return " ".join(self.scopes)

    def check_client(self, client: Any) -> bool:
        return bool(self.client_id == client.get_client_id())


class RefreshTokenStore:
    """Refresh-token families in Redis. `on_family_revoked(jti, exp)` revokes each access token of a family."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        ttl: int,
        family_ttl: int,
        on_family_revoked: Callable[[str, float], object],
    ) -> None:
        self._redis = client
        self._prefix = f"{prefix}:rt"
        self._ttl = ttl
        self._family_ttl = family_ttl
        self._revoke_access_token = on_family_revoked

    def _record_key(self, token_digest: str) -> str:
        return f"{self._prefix}:tok:{token_digest}"

    def _used_key(self, token_digest: str) -> str:
        return f"{self._prefix}:used:{token_digest}"

    def _family_revoked_key(self, family: str) -> str:
        return f"{self._prefix}:fam:{family}:revoked"

    def _family_jtis_key(self, family: str) -> str:
        return f"{self._prefix}:fam:{family}:jti"

    def issue(
        self,
        *,
        client_id: str,
        subject: str,
        scopes: tuple[str, ...],
        audiences: tuple[str, ...],
        parent: RefreshRecord | None = None,
        now: float | None = None,
        session_id: str | None = None,
        family_ttl: int | None = None,
    ) -> tuple[str, RefreshRecord]:
        """A new refresh token: the first of a new family (living `family_ttl`, else the store's), or the
        successor of `parent` in its family."""
        moment = int(time.time() if now is None else now)
        family = parent.family if parent else secrets.token_hex(16)
        family_expires = parent.family_expires_at if parent else moment + (family_ttl or self._family_ttl)
        record = RefreshRecord(
            client_id=client_id,
            subject=subject,
            scopes=scopes,
            audiences=audiences,
            family=family,
            family_expires_at=family_expires,
            expires_at=min(moment + self._ttl, family_expires),
            session_id=parent.session_id if parent else session_id,
        )
        token = secrets.token_urlsafe(32)
        self._redis.set(self._record_key(digest(token)), record.model_dump_json(), exat=record.expires_at)
        return token, record

    def record_access_token(self, family: str, jti: str, expires_at: int, family_expires_at: int) -> None:
        """Remember an access token minted under `family`, so a family revocation reaches it."""
        key = self._family_jtis_key(family)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {jti: expires_at})
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.expireat(key, family_expires_at)
            pipe.execute()

    def lookup(self, token: str) -> tuple[RefreshRecord | None, bool]:
        """The live record of `token` (or None) and whether this was a reuse, which revokes the family."""
        peeked = self.peek(token)
        if peeked is None:
            return None, False
        record, used = peeked
        if used:
            self.revoke_family(record.family, record.family_expires_at)
            return None, True
        if self._redis.exists(self._family_revoked_key(record.family)):
            return None, False
        return record, False

    def peek(self, token: str) -> tuple[RefreshRecord, bool] | None:
        """The record of `token` and whether it was consumed, with no reuse detection (introspection, RFC 7009)."""
        if not token or len(token) > MAX_REFRESH_TOKEN_CHARS:
            return None
        token_digest = digest(token)
        raw, used = cast(
            list[bytes | str | None],
            self._redis.mget([self._record_key(token_digest), self._used_key(token_digest)]),
        )
        return None if raw is None else (RefreshRecord.model_validate_json(raw), used is not None)

    def consume(self, token: str, record: RefreshRecord) -> bool:
        """Mark `token` used. False means another request consumed it first: the family is revoked."""
        first = self._redis.set(self._used_key(digest(token)), b"1", nx=True, exat=record.family_expires_at)
        if not first:
            self.revoke_family(record.family, record.family_expires_at)
            return False
        return True

    def revoke_family(self, family: str, family_expires_at: int) -> None:
        self._redis.set(self._family_revoked_key(family), b"1", exat=max(family_expires_at, int(time.time()) + 1))
        now = time.time()
        live = cast(
            list[tuple[bytes | str, float]],
            self._redis.zrangebyscore(self._family_jtis_key(family), now, "+inf", withscores=True),
        )
        for jti, exp in live:
            self._revoke_access_token(jti.decode() if isinstance(jti, bytes) else jti, int(exp))

    def is_family_revoked(self, family: str) -> bool:
        return bool(self._redis.exists(self._family_revoked_key(family)))
