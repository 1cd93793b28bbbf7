"""The console's server-side state in Redis: people's sessions and the sign-ins they have started.

Who calls it: `session.py` (each console request reads and touches its session) and `signin.py` (the code flow
puts a pending sign-in at `/console/login` and takes it back at `/console/callback`). Every replica shares it, so a
session opened through one replica is good on any other (ARCHITECTURE.md: no session state on a process's disk).

The browser holds only a random session id; Redis holds the record under the SHA-256 of that id, so a read of
Redis yields no cookie to replay. Records carry access and refresh tokens and are encrypted (AES-GCM, the Redis
key as associated data, so a record cannot be moved under another id) with a key shared through Redis and sealed
by the key-encryption key. Idle and absolute timeouts are enforced here on every read, and the Redis TTL follows
the nearer of the two, so an abandoned session also leaves Redis on its own.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from typing import Literal, cast

import redis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from redis.lock import Lock

from edgeauth.issuer.digest import digest
from vigil.signin import AuthorizationRequest

PENDING_SECONDS = 600  # a sign-in page left open longer than this starts over
NONCE_BYTES = 12


class ConsoleSession(BaseModel):
    """One person's console session as stored (encrypted): who, how they signed in, their tokens, its clock."""

    model_config = ConfigDict(frozen=True)

    subject: str
    display_name: str
    via: Literal["oidc", "token-paste"]
    access_token: SecretStr
    access_expires_at: int
    refresh_token: SecretStr | None = None
    id_token: str | None = None
    created_at: float
    last_seen: float
    absolute_expires_at: float

    def stored(self) -> bytes:
        data = self.model_dump(mode="json")
        data["access_token"] = self.access_token.get_secret_value()
        data["refresh_token"] = self.refresh_token.get_secret_value() if self.refresh_token else None
        return json.dumps(data).encode()


class PendingSignIn(BaseModel):
    """A started code flow, kept until its callback: the request, where to go after, and the browser it began in."""

    model_config = ConfigDict(frozen=True)

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    url: str
    next: str
    browser: str  # SHA-256 of the sign-in cookie of the browser that started it

    def request(self) -> AuthorizationRequest:
        return AuthorizationRequest(
            url=self.url,
            state=self.state,
            nonce=self.nonce,
            code_verifier=SecretStr(self.code_verifier),
            redirect_uri=self.redirect_uri,
        )


class SessionStore:
    """Sessions and pending sign-ins under `{namespace}:console:`; `key()` gives the shared 32-byte record key."""

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        key: Callable[[], bytes],
        *,
        idle_seconds: int,
        absolute_seconds: int,
    ) -> None:
        self._redis = client
        self._prefix = f"{namespace}:console"
        self._key = key
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds

    def _session_key(self, session_id: str) -> str:
        return f"{self._prefix}:session:{digest(session_id)}"

    # -- sessions -----------------------------------------------------------------------------------------------

    def open(
        self,
        *,
        subject: str,
        display_name: str,
        via: Literal["oidc", "token-paste"],
        access_token: SecretStr,
        access_expires_at: int,
        refresh_token: SecretStr | None = None,
        id_token: str | None = None,
    ) -> tuple[str, ConsoleSession]:
        """A new session under a new random id (never one the browser brought: no fixation)."""
        now = time.time()
        session = ConsoleSession(
            subject=subject,
            display_name=display_name,
            via=via,
            access_token=access_token,
            access_expires_at=access_expires_at,
            refresh_token=refresh_token,
            id_token=id_token,
            created_at=now,
            last_seen=now,
            absolute_expires_at=now + self.absolute_seconds,
        )
        session_id = secrets.token_urlsafe(32)
        self._write(session_id, session, create=True)
        return session_id, session

    def get(self, session_id: str) -> tuple[ConsoleSession | None, str | None]:
        """The live session (its idle clock restarted), or None and why it ended (`idle`, `absolute`, unknown)."""
        key = self._session_key(session_id)
        raw = cast(bytes | None, self._redis.get(key))
        if raw is None:
            return None, None
        session = self._open(key, raw)
        now = time.time()
        ended = (
            "absolute"
            if session is not None and now >= session.absolute_expires_at
            else "idle"
            if session is not None and now - session.last_seen >= self.idle_seconds
            else None
        )
        if session is None or ended:
            self._redis.delete(key)
            return None, ended
        touched = session.model_copy(update={"last_seen": now})
        self._write(session_id, touched)
        return touched, None

    def replace(self, session_id: str, session: ConsoleSession) -> None:
        """Store new tokens for a live session (after a refresh); its clocks stay as they were."""
        self._write(session_id, session)

    def close(self, session_id: str) -> ConsoleSession | None:
        """Delete the session and return what it held (its refresh token still to revoke)."""
        key = self._session_key(session_id)
        raw = cast(bytes | None, self._redis.getdel(key))
        return None if raw is None else self._open(key, raw)

    def refresh_lock(self, session_id: str) -> Lock:
        """One refresh per session at a time: two parallel requests presenting one rotating refresh token would
        look like token theft to the provider (reuse detection) and end the session."""
        return cast(Lock, self._redis.lock(f"{self._session_key(session_id)}:refresh", timeout=30, blocking_timeout=15))

    def _write(self, session_id: str, session: ConsoleSession, *, create: bool = False) -> None:
        key = self._session_key(session_id)
        remaining = min(session.last_seen + self.idle_seconds, session.absolute_expires_at) - time.time()
        ttl = max(1, int(remaining) + 1)
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + AESGCM(self._key()).encrypt(nonce, session.stored(), key.encode())
        self._redis.set(key, sealed, ex=ttl, nx=create, xx=not create)

    def _open(self, key: str, raw: bytes) -> ConsoleSession | None:
        """A record this store wrote under this key, else None (tampered, moved, or written under another key)."""
        try:
            plain = AESGCM(self._key()).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key.encode())
            return ConsoleSession.model_validate_json(plain)
        except (InvalidTag, ValueError, ValidationError):
            return None

    # -- pending sign-ins ---------------------------------------------------------------------------------------

    def _pending_key(self, state: str) -> str:
        return f"{self._prefix}:signin:{digest(state)}"

    def put_pending(self, request: AuthorizationRequest, *, next: str, browser: str) -> None:
        pending = PendingSignIn(
            state=request.state,
            nonce=request.nonce,
            code_verifier=request.code_verifier.get_secret_value(),
            redirect_uri=request.redirect_uri,
            url=request.url,
            next=next,
            browser=digest(browser),
        )
        key = self._pending_key(request.state)
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + AESGCM(self._key()).encrypt(nonce, pending.model_dump_json().encode(), key.encode())
        self._redis.set(key, sealed, ex=PENDING_SECONDS)

    def take_pending(self, state: str) -> PendingSignIn | None:
        """The pending sign-in of `state`, removed as it is read: a state is good for one callback only."""
        key = self._pending_key(state)
        raw = cast(bytes | None, self._redis.getdel(key))
        if raw is None:
            return None
        try:
            plain = AESGCM(self._key()).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key.encode())
            return PendingSignIn.model_validate_json(plain)
        except (InvalidTag, ValueError, ValidationError):
            return None
