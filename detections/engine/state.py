"""Engine state in Redis: per-rule checkpoints and last runs, disabled rules, and the cycle lock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import redis

from detections.settings import DetectionsSettings


def _parse(value: bytes | str | None) -> datetime | None:
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    return datetime.fromisoformat(text).astimezone(UTC)


class EngineState:
    def __init__(self, redis_client: redis.Redis, settings: DetectionsSettings) -> None:
        self.redis = redis_client
        self.checkpoints = settings.key("checkpoints")
        self.last_runs = settings.key("last-run")
        self.disabled_key = settings.key("disabled")
        self.lock_key = settings.key("cycle-lock")
        self.storms_key = settings.key("storms")

    def checkpoint(self, rule_id: str) -> datetime | None:
        return _parse(cast(bytes | None, self.redis.hget(self.checkpoints, rule_id)))

    def all_checkpoints(self) -> dict[str, datetime]:
        raw = cast(dict[bytes, bytes], self.redis.hgetall(self.checkpoints))
        return {k.decode(): v for k, value in raw.items() if (v := _parse(value)) is not None}

    def all_last_runs(self) -> dict[str, datetime]:
        raw = cast(dict[bytes, bytes], self.redis.hgetall(self.last_runs))
        return {k.decode(): v for k, value in raw.items() if (v := _parse(value)) is not None}

    def save(self, checkpoints: dict[str, datetime], last_runs: dict[str, datetime]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        if checkpoints:
            pipe.hset(self.checkpoints, mapping={k: v.isoformat() for k, v in checkpoints.items()})
        if last_runs:
            pipe.hset(self.last_runs, mapping={k: v.isoformat() for k, v in last_runs.items()})
        pipe.execute()

    def count_storms(self, rule_ids: list[str]) -> None:
        """Alert storms per rule, kept in Redis so every worker's storms reach one `/metrics` counter."""
        if rule_ids:
            pipe = self.redis.pipeline(transaction=False)
            for rule_id in rule_ids:
                pipe.hincrby(self.storms_key, rule_id, 1)
            pipe.execute()

    def storms(self) -> dict[str, int]:
        raw = cast(dict[bytes, bytes], self.redis.hgetall(self.storms_key))
        return {k.decode(): int(v) for k, v in raw.items()}

    def disabled(self) -> set[str]:
        return {m.decode() for m in cast(set[bytes], self.redis.smembers(self.disabled_key))}

    def set_enabled(self, rule_id: str, enabled: bool) -> None:
        if enabled:
            self.redis.srem(self.disabled_key, rule_id)
        else:
            self.redis.sadd(self.disabled_key, rule_id)

    def acquire(self, token: str, ttl_seconds: int) -> bool:
        """One cycle at a time across workers; the lock expires if its holder dies."""
        return bool(self.redis.set(self.lock_key, token, nx=True, ex=ttl_seconds))

    def release(self, token: str) -> None:
        current = cast(bytes | None, self.redis.get(self.lock_key))
        if current is not None and current.decode() == token:
            self.redis.delete(self.lock_key)
