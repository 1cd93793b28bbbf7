"""Revocations pushed through Redis into a local replica in every verifier.

The publisher (called by the issuer's RFC 7009 endpoint and refresh-token reuse detection) runs one Lua script
that atomically adds the token id to a snapshot (a sorted set scored by the token's expiry), takes the next
sequence number and appends `{seq, jti, exp, at}` to a stream. A replica cold-starts from the snapshot, the
sequence number and the stream's last id read in one transaction, then follows the stream with blocking reads.
A gap in sequence numbers (the stream was trimmed past a replica that was away) reloads the snapshot. The lag
from publication to replica is a histogram; the time since the last successful read is the replica's staleness.

Key changes travel the same stream: the key store appends `{seq, kid, state, at}` (no `jti`) whenever a key
enters or leaves the JWKS, and a replica hands it to its `on_keys_changed` callback (the edge refetches its JWKS
at once), so a withdrawn key is refused as quickly as a revoked token. A snapshot reload calls it too, since the
gap may have swallowed a key change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, cast

import redis
from prometheus_client import Counter, Histogram

from edgeauth.background import BackgroundLoop
from edgeauth.errors import RevocationError
from edgeauth.settings import EdgeAuthSettings

log = logging.getLogger(__name__)

REVOCATION_LAG = Histogram(
    "edgeauth_revocation_lag_seconds",
    "Time from a revocation's publication to its arrival in a verifier's replica",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SNAPSHOT_LOADS = Counter("edgeauth_revocation_snapshot_loads", "Revocation snapshot loads", ["cause"])
KEY_CHANGE_LAG = Histogram(
    "edgeauth_key_change_lag_seconds",
    "Time from a key change's publication (rotation, withdrawal) to its arrival in a verifier's replica",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
STREAM_MAXLEN = 100_000

_REVOKE = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'seq', seq, 'jti', ARGV[1], 'exp', ARGV[2], 'at', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
return seq
"""


_KEYS_CHANGED = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'seq', seq, 'kid', ARGV[1], 'state', ARGV[2], 'at', ARGV[3])
return seq
"""


def _keys(settings: EdgeAuthSettings) -> tuple[str, str, str]:
    base = f"{settings.key_prefix}:revocations"
    return f"{base}:snapshot", f"{base}:seq", f"{base}:stream"


def redis_text(value: bytes | str) -> str:
    """A Redis reply as text, whether or not the client decodes responses (the key store reads through this too)."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


class RevocationPublisher:
    def __init__(
        self, redis_client: redis.Redis, settings: EdgeAuthSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = redis_client
        self._settings = settings
        self._clock = clock
        self._keys = _keys(settings)
        self._script = redis_client.register_script(_REVOKE)
        self._keys_changed = redis_client.register_script(_KEYS_CHANGED)

    def revoke(self, jti: str, expires_at: float) -> int:
        """Publish the revocation of token `jti` (kept until `expires_at` plus leeway); returns its sequence."""
        if not jti:
            raise RevocationError("a token id (jti) is required to revoke a token")
        now = self._clock()
        try:
            seq = self._script(
                keys=list(self._keys),
                args=[jti, f"{expires_at:.3f}", f"{now:.6f}", f"{now - self._settings.leeway:.3f}", STREAM_MAXLEN],
            )
        except redis.RedisError as exc:
            raise RevocationError(f"cannot publish the revocation: {exc}") from exc
        self._replicated()
        return int(cast(int, seq))

    def keys_changed(self, kid: str, state: str) -> int:
        """Tell every verifier that key `kid` entered `state` (they refetch the JWKS); returns the sequence."""
        try:
            seq = self._keys_changed(
                keys=[self._keys[1], self._keys[2]], args=[kid, state, f"{self._clock():.6f}", STREAM_MAXLEN]
            )
        except redis.RedisError as exc:
            raise RevocationError(f"cannot publish the key change: {exc}") from exc
        self._replicated()
        return int(cast(int, seq))

    def _replicated(self) -> None:
        """With replicas, a revocation or key change counts only once `wait_replicas` of them hold it, so a failover
        of the Redis primary cannot un-revoke a token; publishing again is harmless (same content, later sequence)."""
        wanted = self._settings.wait_replicas
        if wanted == 0:
            return
        try:
            holding = int(cast(int, self._redis.wait(wanted, self._settings.wait_timeout_ms)))
        except redis.RedisError as exc:
            raise RevocationError(f"cannot confirm the publication: {exc}") from exc
        if holding < wanted:
            raise RevocationError(f"the publication reached {holding} of {wanted} Redis replica(s); publish it again")

    def is_revoked(self, jti: str) -> bool:
        """Whether `jti` is revoked, read from the snapshot (the issuer's check for introspection)."""
        try:
            score = cast(float | None, self._redis.zscore(self._keys[0], jti))
        except redis.RedisError as exc:
            raise RevocationError(f"cannot read the revocation snapshot: {exc}") from exc
        return score is not None and score > self._clock() - self._settings.leeway


class RevocationReplica:
    """The verifier's local set of revoked token ids, following the publisher's stream."""

    def __init__(
        self,
        redis_client: redis.Redis,
        settings: EdgeAuthSettings,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        on_keys_changed: Callable[[], object] | None = None,
    ) -> None:
        self._redis = redis_client
        self._settings = settings
        self._clock = clock
        self._monotonic = monotonic
        self._on_keys_changed = on_keys_changed
        self._snapshot_key, self._seq_key, self._stream_key = _keys(settings)
        self._revoked: dict[str, float] = {}
        self._seq = 0
        self._last_id: str = "0-0"
        self._last_sync = float("-inf")
        self._last_purge = monotonic()
        self._backoff = 0.1
        self._loop = BackgroundLoop("edgeauth-revocations", self._follow)

    def __len__(self) -> int:
        return len(self._revoked)

    @property
    def sequence(self) -> int:
        return self._seq

    def is_revoked(self, jti: str) -> bool:
        return jti in self._revoked

    def staleness(self) -> float:
        """Seconds since the replica last heard from Redis (infinite before the first snapshot)."""
        return max(0.0, self._monotonic() - self._last_sync)

    def load_snapshot(self, cause: str = "startup") -> None:
        now = self._clock()
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(self._seq_key)
        pipe.xrevrange(self._stream_key, count=1)
        pipe.zrangebyscore(self._snapshot_key, now - self._settings.leeway, "+inf", withscores=True)
        try:
            seq_raw, last, members = pipe.execute()
        except redis.RedisError as exc:
            raise RevocationError(f"cannot load the revocation snapshot: {exc}") from exc
        self._revoked = {redis_text(jti): float(exp) for jti, exp in members}
        self._seq = int(seq_raw or 0)
        self._last_id = redis_text(last[0][0]) if last else "0-0"
        self._last_sync = self._monotonic()
        SNAPSHOT_LOADS.labels(cause).inc()
        if cause == "gap" and self._on_keys_changed is not None:
            self._on_keys_changed()  # the trimmed part of the stream may have held a key change

    def poll(self, block_ms: int | None = None) -> int:
        """Apply what the stream holds past our position (waiting up to `block_ms`); returns entries applied."""
        if self._last_sync == float("-inf"):
            self.load_snapshot()
        try:
            # BLOCK 0 would wait forever: no positive wait means no BLOCK at all.
            block = block_ms if block_ms and block_ms > 0 else None
            reply = self._redis.xread({self._stream_key: self._last_id}, count=1000, block=block)
        except redis.RedisError as exc:
            raise RevocationError(f"cannot read revocations: {exc}") from exc
        applied = 0
        now = self._clock()
        for _stream, entries in cast(list[tuple[Any, list[tuple[Any, dict[Any, Any]]]]], reply or []):
            for entry_id, raw in entries:
                fields = {redis_text(k): redis_text(v) for k, v in raw.items()}
                seq = int(fields["seq"])
                if seq <= self._seq:
                    self._last_id = redis_text(entry_id)
                    continue
                if seq != self._seq + 1:
                    log.warning("revocation stream gap (%d after %d): reloading the snapshot", seq, self._seq)
                    self.load_snapshot("gap")
                    return applied + self.poll(None)
                self._seq = seq
                self._last_id = redis_text(entry_id)
                if "jti" in fields:
                    self._revoked[fields["jti"]] = float(fields["exp"])
                    REVOCATION_LAG.observe(max(0.0, now - float(fields["at"])))
                elif self._on_keys_changed is not None:
                    self._on_keys_changed()
                    KEY_CHANGE_LAG.observe(max(0.0, self._clock() - float(fields["at"])))
                applied += 1
        self._last_sync = self._monotonic()
        self._purge(now)
        return applied

    def _purge(self, now: float) -> None:
        if self._monotonic() - self._last_purge < 60:
            return
        self._last_purge = self._monotonic()
        horizon = now - self._settings.leeway
        self._revoked = {jti: exp for jti, exp in self._revoked.items() if exp > horizon}

    def start(self) -> None:
        """Load the snapshot now (so a healthy start serves at once), then follow the stream in a thread."""
        if self._loop.running:
            return
        try:
            self.load_snapshot()
        except RevocationError as exc:
            log.warning("revocation replica starts without a snapshot (fail policy applies): %s", exc)
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop(timeout=self._settings.revocation_block_ms / 1000 + 5)

    def _follow(self) -> float:
        """One blocking read; the next starts at once, or after a growing backoff while Redis fails."""
        try:
            self.poll(self._settings.revocation_block_ms)
        except RevocationError as exc:
            # Keep enforcing what we know; staleness grows until the verifier's fail policy takes over.
            log.warning("revocation replica: %s (retrying in %.1fs)", exc, self._backoff)
            delay, self._backoff = self._backoff, min(self._backoff * 2, 5.0)
            return delay
        self._backoff = 0.1
        return 0.0
