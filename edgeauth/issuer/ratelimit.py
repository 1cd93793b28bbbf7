"""Token-endpoint throttling that an attacker cannot turn against a client, shared by every issuer replica.

Three sliding windows in Redis (sorted sets of timestamps, so no boundary lets twice the limit through):

* requests per source address (`rate_limit_per_ip` per `rate_limit_window`): one address cannot flood the
  endpoint, whatever ids it claims;
* failed client authentications per (client id, source address): over `failures_per_client_address` within
  `failure_window` that pair is locked out;
* failed client authentications per source address, any client id: credential stuffing from one address locks
  out that address.

A lockout lasts `lockout_base` seconds, doubling with each further lockout of the same pair or address within
`lockout_memory` (up to `lockout_max`). Nothing is ever counted per client id alone: failures from one address
never refuse the right secret sent from another address, so knowing a client id is not enough to lock it out.
A successful authentication clears its pair's failures and backoff. Every check runs before any secret is
hashed, in one round trip.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from typing import cast

import redis

from edgeauth.issuer.errors import RateLimited
from edgeauth.settings import IssuerSettings

# KEYS: address requests, pair lock, address lock. ARGV: now ms, window ms, limit, member.
# Returns {0, 0} when admitted, {1, ms} when locked out, {2, ms} when over the request rate.
_ADMIT = """
local now = tonumber(ARGV[1])
local locked = math.max(redis.call('PTTL', KEYS[2]), redis.call('PTTL', KEYS[3]))
if locked > 0 then return {1, locked} end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {2, math.max(1, tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {0, 0}
"""

# KEYS: (failures, lock, strikes) for the pair, then for the address.
# ARGV: now ms, window ms, pair limit, address limit, base ms, max ms, memory ms, member.
# Returns the lockout (ms, 0 for none) each of the two got.
_FAIL = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 0, 1 do
  local failures, lock, strikes = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
  redis.call('ZREMRANGEBYSCORE', failures, '-inf', now - window)
  redis.call('ZADD', failures, now, ARGV[8])
  redis.call('PEXPIRE', failures, window)
  local lockout = 0
  if redis.call('ZCARD', failures) >= tonumber(ARGV[3 + i]) then
    local n = redis.call('INCR', strikes)
    redis.call('PEXPIRE', strikes, ARGV[7])
    lockout = math.min(tonumber(ARGV[5]) * 2 ^ (n - 1), tonumber(ARGV[6]))
    redis.call('SET', lock, '1', 'PX', math.floor(lockout))
    redis.call('DEL', failures)
  end
  out[i + 1] = math.floor(lockout)
end
return out
"""


class RateLimiter:
    def __init__(
        self, client: redis.Redis, prefix: str, settings: IssuerSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = client
        self._prefix = f"{prefix}:ratelimit"
        self._settings = settings
        self._clock = clock
        self._admit = client.register_script(_ADMIT)
        self._fail = client.register_script(_FAIL)

    def _key(self, kind: str, *parts: str) -> str:
        # Hashed so a hostile client id or address cannot shape our key space.
        digest = hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{self._prefix}:{kind}:{digest}"

    def _pair(self, client_id: str | None, source_ip: str | None) -> tuple[str, str, str]:
        # A request claiming no client id is its own pair: it cannot lock out any registered client.
        who = (client_id or "\x00none", source_ip or "")
        return self._key("fail", *who), self._key("lock", *who), self._key("strikes", *who)

    def _address(self, source_ip: str | None) -> tuple[str, str, str]:
        where = source_ip or ""
        return self._key("ipfail", where), self._key("iplock", where), self._key("ipstrikes", where)

    def check(self, *, client_id: str | None, source_ip: str | None) -> None:
        """Admit one request, or raise `RateLimited` with the seconds to wait (a lockout, or the address's rate)."""
        pair_lock = self._pair(client_id, source_ip)[1]
        address_lock = self._address(source_ip)[1]
        settings = self._settings
        outcome, wait_ms = cast(
            list[int],
            self._admit(
                keys=[self._key("ip", source_ip or ""), pair_lock, address_lock],
                args=[
                    int(self._clock() * 1000),
                    settings.rate_limit_window * 1000,
                    settings.rate_limit_per_ip,
                    uuid.uuid4().hex,
                ],
            ),
        )
        if outcome:
            what = "client at this source address" if outcome == 1 else "source address"
            raise RateLimited(what, max(1, -(-int(wait_ms) // 1000)))

    def failed(self, *, client_id: str | None, source_ip: str | None) -> int:
        """Count a failed client authentication; returns the lockout it caused in seconds (0 for none)."""
        settings = self._settings
        lockouts = cast(
            list[int],
            self._fail(
                keys=[*self._pair(client_id, source_ip), *self._address(source_ip)],
                args=[
                    int(self._clock() * 1000),
                    settings.failure_window * 1000,
                    settings.failures_per_client_address,
                    settings.failures_per_address,
                    settings.lockout_base * 1000,
                    settings.lockout_max * 1000,
                    settings.lockout_memory * 1000,
                    uuid.uuid4().hex,
                ],
            ),
        )
        return max(int(ms) for ms in lockouts) // 1000

    def succeeded(self, *, client_id: str, source_ip: str | None) -> None:
        """The client proved its secret from this address: its failures and backoff there are forgotten."""
        failures, _lock, strikes = self._pair(client_id, source_ip)
        self._redis.delete(failures, strikes)


# KEYS: failures (sorted set), wait marker. ARGV: now ms, window ms, free failures, base ms, max ms, member.
# Returns the wait (ms) this failure imposes: 0 while within the free failures, then base * 2^k up to max.
_SIGN_IN_FAIL = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[6])
redis.call('PEXPIRE', KEYS[1], window)
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if over <= 0 then return 0 end
local wait = math.floor(math.min(tonumber(ARGV[4]) * 2 ^ (over - 1), tonumber(ARGV[5])))
redis.call('SET', KEYS[2], '1', 'PX', wait)
return wait
"""


class SignInThrottle:
    """People's sign-in attempts per (user name, source address): exponential backoff, never a lockout.

    The first `login_free_failures` failures within `login_failure_window` cost nothing; each one after makes the
    pair wait `login_backoff_base` seconds, doubling per failure up to `login_backoff_max`. Once the wait is over
    the right password works again at once, so a guesser slows a victim down at one address at most by the
    backoff, and can never lock them out. Unknown user names are throttled exactly like real ones (the key does
    not depend on whether the user exists), so the throttle does not reveal who exists either.
    """

    def __init__(
        self, client: redis.Redis, prefix: str, settings: IssuerSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = client
        self._prefix = f"{prefix}:ratelimit:signin"
        self._settings = settings
        self._clock = clock
        self._fail = client.register_script(_SIGN_IN_FAIL)

    def _keys(self, username: str, source_ip: str | None) -> tuple[str, str]:
        who = f"{username.strip().lower()}\x00{source_ip or ''}".encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(who).hexdigest()[:32]
        return f"{self._prefix}:fail:{digest}", f"{self._prefix}:wait:{digest}"

    def wait(self, username: str, source_ip: str | None) -> int:
        """Seconds this pair must still wait before trying again (0: go ahead)."""
        remaining = cast(int, self._redis.pttl(self._keys(username, source_ip)[1]))
        return max(0, -(-remaining // 1000)) if remaining > 0 else 0

    def failed(self, username: str, source_ip: str | None) -> int:
        """Count a failed attempt (password or second factor); returns the wait it imposes, seconds."""
        settings = self._settings
        waited = cast(
            int,
            self._fail(
                keys=list(self._keys(username, source_ip)),
                args=[
                    int(self._clock() * 1000),
                    settings.login_failure_window * 1000,
                    settings.login_free_failures,
                    settings.login_backoff_base * 1000,
                    settings.login_backoff_max * 1000,
                    uuid.uuid4().hex,
                ],
            ),
        )
        return -(-int(waited) // 1000)

    def succeeded(self, username: str, source_ip: str | None) -> None:
        self._redis.delete(*self._keys(username, source_ip))
