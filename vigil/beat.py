"""One beat schedules, however many run: a lease in Redis that the scheduling beat renews on every tick.

Every `vigil worker` (with its embedded beat) and every `vigil beat` may start a scheduler; only the holder of
`{namespace}:beat:lock` sends due tasks. The others tick as standbys and take over once the lease lapses (the
holder died or lost Redis), so a crashed beat costs at most one lease of schedule, never a doubled one. The
lease lives in the same Redis as the broker, reached through Sentinel when configured.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

import redis
from celery.beat import PersistentScheduler

#: Renew our own lease, or take a free one; refuse one held by another beat.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

#: Seconds a lease lasts without renewal: a standby takes over this long after the holder stops.
LEASE_SECONDS = 30.0


class BeatLock:
    """The lease one beat holds; `hold()` renews or takes it and says whether this beat may schedule."""

    def __init__(self, connect: Callable[[], redis.Redis], key: str, lease_seconds: float = LEASE_SECONDS) -> None:
        self._connect = connect
        self._client: redis.Redis | None = None  # built lazily: the embedded beat runs in a forked process
        self.key = key
        self.lease_ms = int(lease_seconds * 1000)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    @property
    def retry_seconds(self) -> float:
        """How often a standby asks again (and a holder renews at least): a third of the lease."""
        return self.lease_ms / 3000

    def hold(self) -> bool:
        if self._client is None:
            self._client = self._connect()
        try:
            return bool(self._client.eval(_HOLD, 1, self.key, self.holder, str(self.lease_ms)))
        except redis.RedisError:
            # Unable to prove the lease is ours: schedule nothing rather than risk a second scheduler.
            return False

    def release(self) -> None:
        """Hand the lease back at a clean stop, so a standby need not wait for it to lapse."""
        if self._client is not None and self._client.get(self.key) == self.holder.encode():
            self._client.delete(self.key)


class LockedScheduler(PersistentScheduler):  # type: ignore[misc]  # celery is untyped
    """Celery's persistent scheduler that sends nothing unless its beat holds the lease."""

    lock: BeatLock  # bound by `locked_scheduler`

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.lock.hold():
            return self.lock.retry_seconds
        return min(float(super().tick(*args, **kwargs)), self.lock.retry_seconds)

    def close(self) -> None:
        super().close()
        self.lock.release()


def locked_scheduler(lock: BeatLock) -> type[LockedScheduler]:
    """The scheduler class Celery instantiates (`beat_scheduler`), bound to this lease."""
    return type("VigilScheduler", (LockedScheduler,), {"lock": lock})
