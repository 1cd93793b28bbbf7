"""The durable queue: a Redis Stream read by a consumer group, with explicit acks.

One stream entry carries a chunk of records of one format (fields `f` format, `s` source, `n` count, `r` JSON
list of records, `i` JSON list of producer ids or empty). Admission and the event counter behind the high-water
mark change in one Lua script, so a batch is queued whole or refused whole. An entry is acked and deleted only
after every one of its records is in Elasticsearch (or the dead letter); until then it stays in the group's
pending list, from which a dead consumer's entries are taken over with XAUTOCLAIM.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis

from siem.errors import BackpressureError, QueueUnavailableError
from siem.settings import SiemSettings

_ENQUEUE = """
local hwm = tonumber(ARGV[1])
local total = tonumber(ARGV[2])
local depth = tonumber(redis.call('GET', KEYS[2]) or '0')
if depth + total > hwm then
  redis.call('HINCRBY', KEYS[3], 'rejected', total)
  return false
end
local ids = {}
local chunks = tonumber(ARGV[3])
for c = 0, chunks - 1 do
  local base = 4 + c * 5
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', 'n', ARGV[base], 'f', ARGV[base + 1], 's', ARGV[base + 2],
                              'r', ARGV[base + 3], 'i', ARGV[base + 4])
end
redis.call('INCRBY', KEYS[2], total)
redis.call('HINCRBY', KEYS[3], 'received', total)
return ids
"""

_ACK = """
local done = 0
for k = 2, #ARGV, 2 do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[k]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[k])
    done = done + tonumber(ARGV[k + 1])
  end
end
if done > 0 then redis.call('DECRBY', KEYS[2], done) end
return done
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class Chunk:
    """Records of one format on their way into the stream."""

    fmt: str
    source: str
    records: Sequence[str]
    ids: Sequence[str | None] | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry read back by a worker."""

    entry_id: str
    fmt: str
    source: str
    records: list[str]
    ids: list[str | None] | None
    deliveries: int = 1

    @property
    def queued_ms(self) -> int:
        return int(self.entry_id.split("-", 1)[0])

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.records)

    @classmethod
    def decode(cls, entry_id: bytes | str, fields: dict[bytes, bytes]) -> Entry:
        ids = fields.get(b"i") or b""
        return cls(
            entry_id=_text(entry_id),
            fmt=fields.get(b"f", b"").decode(),
            source=fields.get(b"s", b"").decode(),
            records=json.loads(fields.get(b"r") or b"[]"),
            ids=json.loads(ids) if ids else None,
        )


class EventStream:
    """The stream, its consumer group and the counters next to it."""

    def __init__(self, redis_client: redis.Redis, settings: SiemSettings) -> None:
        self.redis = redis_client
        self.settings = settings
        self.key = settings.stream_key
        self.group = settings.group
        self._enqueue = redis_client.register_script(_ENQUEUE)
        self._ack = redis_client.register_script(_ACK)

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def push(
        self, fmt: str, records: Sequence[str], *, source: str, ids: Sequence[str | None] | None = None
    ) -> list[str]:
        """Queue records of one (already resolved) format in entries of `chunk_records`, all or none.

        `Pipeline.push` checks the format and the ids first; the edge verifier's decision sink calls this directly
        so that its process needs nothing of siem but this module.
        """
        return self.enqueue(self.chunks(fmt, records, source=source, ids=ids))

    def chunks(
        self, fmt: str, records: Sequence[str], *, source: str, ids: Sequence[str | None] | None = None
    ) -> list[Chunk]:
        """The entries `push` would write: `chunk_records` records each (for `enqueue` of several formats at once)."""
        size = self.settings.chunk_records
        chunks = []
        for start in range(0, len(records), size):
            part = ids[start : start + size] if ids is not None else None
            chunks.append(Chunk(fmt, source, records[start : start + size], part if part and any(part) else None))
        return chunks

    def enqueue(self, chunks: Sequence[Chunk]) -> list[str]:
        """Queue every chunk or none; returns the stream ids once Redis has them (see the AOF policy)."""
        total = sum(len(c.records) for c in chunks)
        if total == 0:
            return []
        args: list[Any] = [self.settings.high_water_mark, total, len(chunks)]
        for chunk in chunks:
            ids = json.dumps(list(chunk.ids), separators=(",", ":")) if chunk.ids else ""
            args += [len(chunk.records), chunk.fmt, chunk.source, json.dumps(list(chunk.records)), ids]
        keys = [self.key, self.settings.depth_key, self.settings.stats_key]
        try:
            result = self._enqueue(keys=keys, args=args)
        except redis.RedisError as exc:
            raise QueueUnavailableError(f"Redis did not queue the batch ({type(exc).__name__}: {exc})") from None
        if not result:
            raise BackpressureError(
                f"queue is above its high-water mark of {self.settings.high_water_mark} events; retry later",
                retry_after=self.settings.retry_after_seconds,
            )
        self._replicated()
        return [_text(i) for i in result]

    def _replicated(self) -> None:
        """With replicas, a batch is acknowledged only once `wait_replicas` of them hold it: a failover then loses
        nothing acknowledged. A shortfall refuses the batch; the producer's retry is deduplicated by event ids."""
        wanted = self.settings.wait_replicas
        if wanted == 0:
            return
        try:
            holding = int(cast(int, self.redis.wait(wanted, self.settings.wait_timeout_ms)))
        except redis.RedisError as exc:
            raise QueueUnavailableError(f"Redis did not confirm the batch ({type(exc).__name__}: {exc})") from None
        if holding < wanted:
            raise QueueUnavailableError(
                f"the batch reached {holding} of {wanted} Redis replica(s) within {self.settings.wait_timeout_ms} ms; "
                "retry"
            )

    def read(self, consumer: str, count: int, block_ms: int | None) -> list[Entry]:
        """New entries for `consumer` (`block_ms` None: do not wait)."""
        reply = cast(
            list[Any],
            self.redis.xreadgroup(self.group, consumer, {self.key: ">"}, count=count, block=block_ms),
        )
        return [Entry.decode(eid, fields) for _, items in reply or [] for eid, fields in items if fields]

    def own_pending(self, consumer: str, count: int) -> list[Entry]:
        """Entries delivered to `consumer` and not acked (a failed attempt of this same process)."""
        reply = cast(list[Any], self.redis.xreadgroup(self.group, consumer, {self.key: "0"}, count=count))
        entries = [Entry.decode(eid, fields) for _, items in reply or [] for eid, fields in items if fields]
        return self._with_deliveries(consumer, entries)

    def has_pending(self, consumer: str) -> bool:
        return bool(self.redis.xpending_range(self.key, self.group, min="-", max="+", count=1, consumername=consumer))

    def claim(self, consumer: str, count: int) -> list[Entry]:
        """Entries another consumer left idle past `claim_idle_ms`, with how often each was delivered."""
        reply = cast(
            list[Any],
            self.redis.xautoclaim(
                self.key, self.group, consumer, min_idle_time=self.settings.claim_idle_ms, start_id="0-0", count=count
            ),
        )
        return self._with_deliveries(consumer, [Entry.decode(eid, fields) for eid, fields in reply[1] if fields])

    def _with_deliveries(self, consumer: str, entries: list[Entry]) -> list[Entry]:
        if not entries:
            return []
        pending = cast(
            list[dict[str, Any]],
            self.redis.xpending_range(
                self.key,
                self.group,
                min=entries[0].entry_id,
                max=entries[-1].entry_id,
                count=len(entries) * 4,
                consumername=consumer,
            ),
        )
        counts = {_text(p["message_id"]): int(p["times_delivered"]) for p in pending}
        return [
            Entry(e.entry_id, e.fmt, e.source, e.records, e.ids, deliveries=counts.get(e.entry_id, 1)) for e in entries
        ]

    def ack(self, entries: Sequence[Entry]) -> int:
        """Ack, delete and uncount entries; returns the events released (entries acked twice count once)."""
        if not entries:
            return 0
        args: list[Any] = [self.group]
        for entry in entries:
            args += [entry.entry_id, len(entry.records)]
        return int(self._ack(keys=[self.key, self.settings.depth_key], args=args))

    def count(self, **increments: int) -> None:
        """Add to the pipeline counters shared by every process (what /metrics and `pipeline status` show)."""
        pipe = self.redis.pipeline(transaction=False)
        for name, value in increments.items():
            if value:
                pipe.hincrby(self.settings.stats_key, name, value)
        pipe.execute()

    def gauge(self, **values: int) -> None:
        self.redis.hset(self.settings.stats_key, mapping=dict(values))

    def stats(self) -> dict[str, int]:
        raw = cast(dict[bytes, bytes], self.redis.hgetall(self.settings.stats_key))
        return {k.decode(): int(v) for k, v in raw.items()}

    def depth(self) -> int:
        return int(cast(bytes | None, self.redis.get(self.settings.depth_key)) or 0)

    def pending(self) -> int:
        try:
            summary = cast(dict[str, Any], self.redis.xpending(self.key, self.group))
        except redis.ResponseError:
            return 0
        return int(summary.get("pending", 0))

    def oldest_age_seconds(self, now: float | None = None) -> float:
        """Age of the oldest entry not yet acked (acked entries are deleted), 0 when the stream is empty."""
        first = cast(list[Any], self.redis.xrange(self.key, count=1))
        if not first:
            return 0.0
        queued = int(_text(first[0][0]).split("-", 1)[0]) / 1000
        return max(0.0, (now if now is not None else time.time()) - queued)
