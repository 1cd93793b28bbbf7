"""The issuer's own browser state in Redis: sign-in sessions (single sign-on), sign-ins in progress, consents.

* A **sign-in session** is what `prompt=none` and single sign-on between the console and `vigil login` rest on:
  the cookie holds only an opaque random id; Redis holds who signed in, when (`auth_time`) and how (`amr`),
  under the SHA-256 of that id, for an absolute `person_session_ttl`. The refresh-token families started from
  a session are listed with it, so ending the session (RP-initiated logout) revokes them.
* A **pending authorization** is one authorization request between the authorization endpoint and its code:
  the validated parameters, which step of the login it is at, and a per-request secret the CSRF tokens of its
  forms derive from (bound to the browser's pre-session cookie, so another browser cannot post them).
* A **consent** is remembered per (person, third-party client) with the scopes it covered.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Literal, cast

import redis
from pydantic import BaseModel, ConfigDict

from edgeauth.issuer.digest import digest

MAX_ID_CHARS = 128
Stage = Literal["password", "second_factor", "enrol", "recovery", "consent"]


def _plausible(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and value.isascii()


class SignInSession(BaseModel):
    """One browser's sign-in at the issuer. `sid` is the public session id (the ID token's `sid` claim)."""

    model_config = ConfigDict(frozen=True)

    sid: str
    subject: str
    auth_time: int
    amr: tuple[str, ...]
    acr: str
    expires_at: int


class PendingAuthorization(BaseModel):
    """An authorization request on its way through login (and consent) to a code."""

    model_config = ConfigDict(frozen=True)

    params: dict[str, str]
    created_at: int
    csrf_secret: str
    stage: Stage = "password"
    # Set once the password step succeeded; the second factor and enrolment steps act on this person only.
    candidate: str | None = None
    amr: tuple[str, ...] = ()
    consented: bool = False


class BrowserState:
    """Sessions, pending authorizations and consents of the issuer, under `{prefix}:sso`."""

    def __init__(self, client: redis.Redis, prefix: str, *, session_ttl: int, pending_ttl: int, consent_ttl: int):
        self._redis = client
        self._prefix = f"{prefix}:sso"
        self._session_ttl = session_ttl
        self._pending_ttl = pending_ttl
        self._consent_ttl = consent_ttl

    # -- sign-in sessions ------------------------------------------------------------------------------------

    def start(
        self, subject: str, *, amr: tuple[str, ...], acr: str, now: float | None = None
    ) -> tuple[str, SignInSession]:
        """A new session (a fresh id, so a fixated cookie never becomes a signed-in one) and its cookie value."""
        moment = int(time.time() if now is None else now)
        cookie = secrets.token_urlsafe(32)
        session = SignInSession(
            sid=secrets.token_urlsafe(16),
            subject=subject,
            auth_time=moment,
            amr=amr,
            acr=acr,
            expires_at=moment + self._session_ttl,
        )
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{self._prefix}:session:{digest(cookie)}", session.model_dump_json(), exat=session.expires_at)
            pipe.set(f"{self._prefix}:sid:{session.sid}", digest(cookie), exat=session.expires_at)
            pipe.execute()
        return cookie, session

    def session(self, cookie: str | None) -> SignInSession | None:
        if not _plausible(cookie):
            return None
        raw = cast(bytes | str | None, self._redis.get(f"{self._prefix}:session:{digest(cast(str, cookie))}"))
        return None if raw is None else SignInSession.model_validate_json(raw)

    def session_by_sid(self, sid: str) -> SignInSession | None:
        if not _plausible(sid):
            return None
        digest = cast(bytes | str | None, self._redis.get(f"{self._prefix}:sid:{sid}"))
        if digest is None:
            return None
        key = digest.decode() if isinstance(digest, bytes) else digest
        raw = cast(bytes | str | None, self._redis.get(f"{self._prefix}:session:{key}"))
        return None if raw is None else SignInSession.model_validate_json(raw)

    def add_family(self, sid: str, family: str, expires_at: int) -> None:
        key = f"{self._prefix}:families:{sid}"
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, family)
            pipe.expireat(key, expires_at)
            pipe.execute()

    def end(self, sid: str) -> list[str]:
        """End the session `sid`; returns the refresh-token families started from it (to be revoked)."""
        digest = cast(bytes | str | None, self._redis.get(f"{self._prefix}:sid:{sid}"))
        families_key = f"{self._prefix}:families:{sid}"
        families = cast(set[bytes | str], self._redis.smembers(families_key))
        keys = [f"{self._prefix}:sid:{sid}", families_key]
        if digest is not None:
            keys.append(f"{self._prefix}:session:{digest.decode() if isinstance(digest, bytes) else digest}")
        self._redis.delete(*keys)
        return sorted(f.decode() if isinstance(f, bytes) else f for f in families)

    # -- pending authorizations ------------------------------------------------------------------------------

    def begin(self, params: dict[str, str], *, now: float | None = None) -> str:
        pending_id = secrets.token_urlsafe(24)
        pending = PendingAuthorization(
            params=params, created_at=int(time.time() if now is None else now), csrf_secret=secrets.token_hex(16)
        )
        self._redis.set(f"{self._prefix}:pending:{digest(pending_id)}", pending.model_dump_json(), ex=self._pending_ttl)
        return pending_id

    def pending(self, pending_id: object) -> PendingAuthorization | None:
        if not _plausible(pending_id):
            return None
        raw = cast(bytes | str | None, self._redis.get(f"{self._prefix}:pending:{digest(cast(str, pending_id))}"))
        return None if raw is None else PendingAuthorization.model_validate_json(raw)

    def update(self, pending_id: str, pending: PendingAuthorization) -> None:
        self._redis.set(
            f"{self._prefix}:pending:{digest(pending_id)}", pending.model_dump_json(), keepttl=True, xx=True
        )

    def finish(self, pending_id: str) -> None:
        self._redis.delete(f"{self._prefix}:pending:{digest(pending_id)}")

    @staticmethod
    def csrf_token(pending: PendingAuthorization, browser: str) -> str:
        """The CSRF token of a pending request's forms in one browser (keyed by its pre-session cookie)."""
        return hmac.new(pending.csrf_secret.encode(), browser.encode("utf-8", "surrogatepass"), "sha256").hexdigest()

    @classmethod
    def csrf_ok(cls, pending: PendingAuthorization, browser: str | None, token: object) -> bool:
        if not browser or not isinstance(token, str):
            return False
        return hmac.compare_digest(cls.csrf_token(pending, browser), token)

    # -- consents --------------------------------------------------------------------------------------------

    def _consent_key(self, subject: str) -> str:
        return f"{self._prefix}:consent:{digest(subject)}"

    def consented(self, subject: str, client_id: str, scopes: set[str]) -> bool:
        raw = cast(bytes | str | None, self._redis.hget(self._consent_key(subject), client_id))
        if raw is None:
            return False
        granted = set((raw.decode() if isinstance(raw, bytes) else raw).split())
        return scopes <= granted

    def remember_consent(self, subject: str, client_id: str, scopes: set[str]) -> None:
        key = self._consent_key(subject)
        raw = cast(bytes | str | None, self._redis.hget(key, client_id))
        before = set((raw.decode() if isinstance(raw, bytes) else raw).split()) if raw is not None else set()
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, client_id, " ".join(sorted(before | scopes)))
            pipe.expire(key, self._consent_ttl)
            pipe.execute()
