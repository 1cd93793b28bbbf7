"""Token-endpoint rate limits per client id and per source IP, counted in Redis so every issuer replica shares
them. Fixed windows: one INCR and one EXPIRE per key in a single round trip."""

from __future__ import annotations

import hashlib
from typing import cast

import redis

from edgeauth.issuer.errors import RateLimited


class RateLimiter:
    def __init__(self, client: redis.Redis, prefix: str, *, window: int, per_client: int, per_ip: int) -> None:
        self._redis = client
        self._prefix = f"{prefix}:ratelimit"
        self._window = window
        self._limits = {"client": per_client, "ip": per_ip}

    def _key(self, kind: str, value: str) -> str:
        # Hashed so a hostile client id or address cannot shape our key space.
        return f"{self._prefix}:{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"

    def check(self, *, client_id: str | None, source_ip: str | None) -> None:
        """Count one request; raise `RateLimited` (with the seconds until the window resets) over a limit."""
        subjects = [(kind, value) for kind, value in (("client", client_id), ("ip", source_ip)) if value]
        if not subjects:
            return
        with self._redis.pipeline(transaction=True) as pipe:
            for kind, value in subjects:
                key = self._key(kind, value)
                pipe.incr(key)
                pipe.expire(key, self._window, nx=True)
                pipe.ttl(key)
            replies = cast(list[int], pipe.execute())
        for index, (kind, _value) in enumerate(subjects):
            count, ttl = replies[3 * index], replies[3 * index + 2]
            if count > self._limits[kind]:
                raise RateLimited("client" if kind == "client" else "source address", max(1, ttl))
