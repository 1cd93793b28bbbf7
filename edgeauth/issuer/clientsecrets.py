"""Machine-client secrets stored as keyed hashes: HMAC-SHA-256 under a server key sealed in Redis.

Vigil generates every client secret itself (256 random bits), so nothing is gained by a memory-hard KDF: it
protects low-entropy human passwords (argon2id in `edgeauth.people`), while on a machine secret it only caps the
token endpoint at tens of grants per second per core and makes it a CPU-exhaustion target. A keyed hash costs
microseconds, and a thief holding a copy of the registry without the server key cannot even test a guess.

A stored hash is `hmac-sha256$<kid>$<digest>`. The server keys live in one Redis hash
(`{prefix}:secret-keys`): field `<kid>` holds 32 random bytes sealed by the KEK (`edgeauth.sealing`, the kid
bound as associated data), field `current` names the key new hashes use. Every replica reads the same keys.
Rotation makes a new key current and keeps the old ones for checking; a hash under an old key, or a legacy
`scrypt$n$r$p$salt$digest`, still verifies, and the registry re-hashes it under the current key on the first
successful use (`SecretCheck.current` is false).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import redis

from edgeauth.audit import AuditEvent, AuditSink
from edgeauth.errors import KeyStoreError
from edgeauth.revocation import redis_text
from edgeauth.sealing import Sealer

SCHEME = "hmac-sha256"
LEGACY_SCHEME = "scrypt"
MAX_SECRET_CHARS = 512
_CURRENT = "current"
_KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode(secret: str) -> bytes:
    # surrogatepass: a hostile secret must be a wrong secret, never an exception.
    return secret.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class SecretCheck:
    """The verdict on a presented secret; `current` is false when a valid hash should be re-hashed."""

    valid: bool
    current: bool


class SecretHashKeys:
    """The server keys of the keyed hash, shared by every replica through Redis, sealed at rest.

    A key never changes once made, so opened keys are cached per process for good; which key is current is
    re-read after `current_ttl` seconds, so a rotation reaches every replica within that time.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        sealer: Sealer,
        *,
        current_ttl: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        audit: AuditSink | None = None,
    ) -> None:
        self._redis = client
        self._key = f"{prefix}:secret-keys"
        self._sealer = sealer
        self._current_ttl = current_ttl
        self._clock = clock
        self._opened: dict[str, bytes] = {}
        self._current: tuple[str, float] | None = None
        self._audit = audit

    def _name(self, kid: str) -> str:
        return f"{self._key}:{kid}"

    def current(self) -> tuple[str, bytes]:
        """The kid and key new hashes use; the first caller anywhere makes it."""
        now = self._clock()
        if self._current is None or now - self._current[1] >= self._current_ttl:
            kid = self._read_current()
            if kid is None:
                kid = self._install(replace=False)
            self._current = (kid, now)
        kid = self._current[0]
        key = self.key(kid)
        if key is None:
            raise KeyStoreError(f"client-secret server key {kid} is named current but missing from Redis")
        return kid, key

    def key(self, kid: str) -> bytes | None:
        """The server key `kid`, or None when no such key exists."""
        if kid in self._opened:
            return self._opened[kid]
        if kid == _CURRENT:
            return None
        stored = cast(bytes | str | None, self._redis.hget(self._key, kid))
        if stored is None:
            return None
        key = self._sealer.open_text(redis_text(stored), self._name(kid))
        self._opened[kid] = key
        return key

    def kids(self) -> list[str]:
        """Every server key kept (the current one and those old hashes may still name)."""
        fields = cast(list[bytes | str], self._redis.hkeys(self._key))
        return sorted(k for k in map(redis_text, fields) if k != _CURRENT)

    def rotate(self, *, actor: str | None = None) -> str:
        """Make a fresh key current; the old ones stay so their hashes verify until re-hashed. Audited."""
        before = self.kids()
        kid = self._install(replace=True)
        self._current = (kid, self._clock())
        if self._audit is not None:
            self._audit.emit(
                [
                    AuditEvent(
                        timestamp=datetime.now(UTC),
                        provider="edgeauth",
                        action="secret-hash-key-rotated",
                        category="iam",
                        type="change",
                        actor=actor,
                        target=f"secret-hash-key:{kid}",
                        trigger="operator",
                        before={"keys": before},
                        after={"keys": self.kids(), "current": kid},
                    )
                ]
            )
        return kid

    def reseal(self) -> int:
        """Rewrite every server key under the current KEK; returns how many changed."""
        changed = 0
        for kid in self.kids():
            stored = cast(bytes | str | None, self._redis.hget(self._key, kid))
            if stored is None:
                continue
            fresh = self._sealer.reseal_text(redis_text(stored), self._name(kid))
            if fresh is not None:
                self._redis.hset(self._key, kid, fresh)
                changed += 1
        return changed

    def _read_current(self) -> str | None:
        stored = cast(bytes | str | None, self._redis.hget(self._key, _CURRENT))
        return None if stored is None else redis_text(stored)

    def _install(self, *, replace: bool) -> str:
        kid = secrets.token_hex(8)
        key = secrets.token_bytes(_KEY_BYTES)
        sealed = self._sealer.seal_text(key, self._name(kid))
        with self._redis.pipeline(transaction=True) as pipe:
            # WATCH: of two replicas making the first key together, one wins and both use the winner's.
            pipe.watch(self._key)  # type: ignore[no-untyped-call]
            existing = cast(bytes | str | None, pipe.hget(self._key, _CURRENT))
            if existing is not None and not replace:
                return redis_text(existing)
            pipe.multi()
            pipe.hset(self._key, mapping={kid: sealed, _CURRENT: kid})
            try:
                pipe.execute()
            except redis.WatchError:
                if replace:
                    raise KeyStoreError("the client-secret server key changed meanwhile; retry the rotation") from None
                winner = self._read_current()
                if winner is None:
                    raise KeyStoreError("cannot install the client-secret server key") from None
                return winner
        self._opened[kid] = key
        return kid


class ClientSecretHasher:
    """Hashes new client secrets under the current server key and checks presented ones in constant time."""

    def __init__(self, keys: SecretHashKeys) -> None:
        self.keys = keys

    def hash(self, secret: str) -> str:
        kid, key = self.keys.current()
        return f"{SCHEME}${kid}${_b64(hmac.digest(key, _encode(secret), hashlib.sha256))}"

    def check(self, secret: str, stored: str) -> SecretCheck:
        """Valid only for the right secret; a malformed hash or an unknown server key is simply not valid."""
        invalid = SecretCheck(valid=False, current=False)
        if len(secret) > MAX_SECRET_CHARS:
            return invalid
        scheme = stored.partition("$")[0]
        if scheme == LEGACY_SCHEME:
            return SecretCheck(valid=check_scrypt(secret, stored), current=False)
        parts = stored.split("$")
        if scheme != SCHEME or len(parts) != 3:
            return invalid
        _, kid, digest = parts
        key = self.keys.key(kid)
        if key is None:
            return invalid
        try:
            expected = _unb64(digest)
        except ValueError:
            return invalid
        valid = hmac.compare_digest(hmac.digest(key, _encode(secret), hashlib.sha256), expected)
        return SecretCheck(valid=valid, current=valid and kid == self.keys.current()[0])

    def decoy(self, secret: str) -> None:
        """Spend on a guess for an unregistered id what a real check costs, so timing cannot tell ids apart."""
        _, key = self.keys.current()
        hmac.compare_digest(hmac.digest(key, _encode(secret), hashlib.sha256), bytes(32))


def check_scrypt(secret: str, stored: str) -> bool:
    """A legacy `scrypt$n$r$p$salt$digest` hash (Vigil before keyed hashes); kept to verify and then migrate."""
    if len(secret) > MAX_SECRET_CHARS:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != LEGACY_SCHEME:
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            _encode(secret),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=256 * 1024 * 1024,
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
