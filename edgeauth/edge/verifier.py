"""The edge verifier: `verify(token, required_scopes) -> Principal`, with no call home per request.

Order of checks: size and shape, header (RFC 8725), key by kid from the local JWKS copy, signature, claims
(RFC 9068), revocation, staleness policy, scopes. A verified token is cached by its SHA-256 digest until it
expires, so a hot token skips parsing and signature work; the cache hit still checks expiry, revocation,
staleness and scopes. Every call records one decision event.

A cached entry (`Verified`) also carries the identity headers `GET /verify` answers with, built once per token.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from edgeauth import rfc8725
from edgeauth.decisions import DecisionBuffer, DecisionRecord
from edgeauth.edge import rfc6750
from edgeauth.edge.jwks import JwksCache
from edgeauth.edge.request import header_value
from edgeauth.errors import (
    AlgorithmNotAllowed,
    BadSignature,
    ExpiredToken,
    InsufficientScope,
    RevokedToken,
    StaleState,
    VerificationError,
)
from edgeauth.models import Principal
from edgeauth.settings import EdgeAuthSettings


class RevocationView(Protocol):
    def is_revoked(self, jti: str) -> bool: ...

    def staleness(self) -> float: ...


class RequestContext(NamedTuple):
    """Where a verification came from; copied into its decision event (a tuple: built on every request)."""

    source_ip: str | None = None
    method: str | None = None
    path: str | None = None
    request_id: str | None = None


_NO_CONTEXT = RequestContext()


@dataclass(frozen=True, slots=True)
class Verified:
    """A verified token as the cache keeps it, with the `X-Auth-*` answer of `GET /verify` ready to send."""

    principal: Principal
    expires: float
    kid: str
    alg: str
    scopes: tuple[str, ...]
    identity_headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def _identity_headers(principal: Principal, scopes: tuple[str, ...]) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-auth-subject", header_value(principal.subject).encode()),
        (b"x-auth-client", header_value(principal.client_id).encode()),
        (b"x-auth-scopes", header_value(" ".join(scopes)).encode()),
        (b"x-auth-token-id", header_value(principal.token_id).encode()),
    ]


class Verifier:
    def __init__(
        self,
        settings: EdgeAuthSettings,
        keys: JwksCache,
        *,
        revocations: RevocationView | None = None,
        decisions: DecisionBuffer | None = None,
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.revocations = revocations
        self.decisions = decisions
        self._allowed = frozenset(settings.allowed_algorithms)
        self._audiences = frozenset(settings.audiences)
        self._cache: dict[bytes, Verified] = {}
        self._cache_lock = threading.Lock()
        self._cache_size = settings.token_cache_size
        self._leeway = settings.leeway
        self._headers: rfc8725.HeaderCache = {}

    def verify(
        self, token: str, required_scopes: Iterable[str] = (), *, context: RequestContext | None = None
    ) -> Principal:
        """The principal of a valid token holding every required scope, else a `VerificationError`."""
        return self._admit(token, required_scopes, context or _NO_CONTEXT).principal

    def verify_authorization(
        self, authorization: str | None, required_scopes: Iterable[str] = (), *, context: RequestContext | None = None
    ) -> Principal:
        """`verify` for a raw `Authorization` header; a missing or non-Bearer header is a recorded refusal too."""
        return self.admit(authorization, required_scopes, context=context).principal

    def admit(
        self, authorization: str | None, required_scopes: Iterable[str] = (), *, context: RequestContext | None = None
    ) -> Verified:
        """`verify_authorization` returning the cached entry itself (its principal and its ready answer)."""
        try:
            token = rfc6750.bearer_token(authorization)
        except VerificationError as exc:
            self.refused(exc, context)
            raise
        return self._admit(token, required_scopes, context or _NO_CONTEXT)

    def refused(self, exc: VerificationError, context: RequestContext | None) -> None:
        """Record a refusal decided before any token was read (no bearer token, a request no rule can match)."""
        self._record(time.perf_counter_ns(), "failure", exc.reason, None, context or _NO_CONTEXT)

    def _admit(self, token: str, required_scopes: Iterable[str], ctx: RequestContext) -> Verified:
        started = time.perf_counter_ns()
        entry: Verified | None = None
        try:
            entry = self._verified(token)
            # After the signature: a revoked or stale-state refusal still names the (authentic) token it refused.
            self._check_live(entry, ctx)
            principal = entry.principal
            missing = [s for s in required_scopes if s not in principal.scopes]
            if missing:
                raise InsufficientScope(f"token lacks scope {' '.join(missing)}")
        except VerificationError as exc:
            self._record(started, "failure", exc.reason, entry, ctx)
            raise
        self._record(started, "success", "ok", entry, ctx)
        return entry

    def state_staleness(self) -> float:
        """Seconds since keys or revocations were last confirmed, whichever is older."""
        revocation_age = self.revocations.staleness() if self.revocations is not None else 0.0
        return max(self.keys.staleness(), revocation_age)

    def forget(self, jti: str | None = None) -> None:
        """Drop cached verifications (all, or those of one token id)."""
        with self._cache_lock:
            if jti is None:
                self._cache.clear()
            else:
                self._cache = {d: e for d, e in self._cache.items() if e.principal.token_id != jti}

    def _verified(self, token: str) -> Verified:
        if len(token) > self.settings.max_token_bytes:
            # Before hashing, so an oversized token costs nothing.
            rfc8725.parse(token, max_bytes=self.settings.max_token_bytes, allowed_algorithms=self._allowed)
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        now = time.time()
        entry = self._cache.get(digest)
        if entry is not None and not self.keys.has(entry.kid):
            # Its key left the JWKS (removed or withdrawn after a compromise): verify again, which refuses it.
            self._cache.pop(digest, None)
            entry = None
        if entry is None:
            entry = self._verify_fully(token, now)
            self._remember(digest, entry)
        elif entry.expires <= now - self._leeway:
            self._cache.pop(digest, None)
            raise ExpiredToken("token has expired")
        return entry

    def _check_live(self, entry: Verified, ctx: RequestContext) -> None:
        if self.revocations is not None and self.revocations.is_revoked(entry.principal.token_id):
            raise RevokedToken("token has been revoked")
        if self.state_staleness() > self.settings.max_staleness and (
            self.settings.fail_policy_for(ctx.path) == "closed"
        ):
            raise StaleState("keys or revocations are out of date and this route fails closed")

    def _verify_fully(self, token: str, now: float) -> Verified:
        parsed = rfc8725.parse(
            token,
            max_bytes=self.settings.max_token_bytes,
            allowed_algorithms=self._allowed,
            header_cache=self._headers,
        )
        key = self.keys.get(parsed.kid)
        if key.alg != parsed.alg:
            raise AlgorithmNotAllowed("token algorithm does not match its key")
        if not key.verify(parsed.signing_input, parsed.signature):
            raise BadSignature("signature does not verify")
        claims = parsed.claims
        audience = rfc8725.check_claims(
            claims, issuer=self.settings.issuer, audiences=self._audiences, leeway=self._leeway, now=now
        )
        scope = claims.get("scope", "")
        principal = Principal(
            subject=claims["sub"],
            client_id=claims["client_id"],
            scopes=frozenset(scope.split()),
            audience=audience,
            token_id=claims["jti"],
            issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            claims=claims,
        )
        scopes = tuple(sorted(principal.scopes))
        return Verified(
            principal, float(claims["exp"]), parsed.kid, parsed.alg, scopes, _identity_headers(principal, scopes)
        )

    def _remember(self, digest: bytes, entry: Verified) -> None:
        if self._cache_size <= 0:
            return
        with self._cache_lock:
            if len(self._cache) >= self._cache_size:
                self._evict(time.time())
            self._cache[digest] = entry

    def _evict(self, now: float) -> None:
        expired = [d for d, e in self._cache.items() if e.expires <= now - self._leeway]
        for d in expired:
            del self._cache[d]
        # Nothing expired: drop the oldest insertions (dicts keep insertion order), a tenth at a time.
        overflow = len(self._cache) - self._cache_size + max(1, self._cache_size // 10)
        if not expired and overflow > 0:
            for d in list(self._cache)[:overflow]:
                del self._cache[d]

    def _record(self, started: int, outcome: str, reason: str, entry: Verified | None, ctx: RequestContext) -> None:
        if self.decisions is None:
            return
        latency_us = (time.perf_counter_ns() - started) // 1000
        p = entry.principal if entry is not None else None
        self.decisions.record(
            DecisionRecord(
                time.time(),
                "success" if outcome == "success" else "failure",
                reason,
                "verify",
                p.subject if p else None,
                p.client_id if p else None,
                entry.scopes if entry else (),
                p.token_id if p else None,
                entry.kid if entry else None,
                entry.alg if entry else None,
                ctx.source_ip,
                ctx.method,
                ctx.path,
                latency_us,
                ctx.request_id,
            )
        )
