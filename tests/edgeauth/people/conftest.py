"""Fixtures of the people directory's tests: a directory on the real Redis with a cheap argon2id cost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis
from pydantic import SecretStr

from edgeauth import CollectingAuditSink, Sealer
from edgeauth.people import PeopleDirectory, RedisUserStore
from edgeauth.settings import PeopleSettings

# The lowest cost the settings accept: these tests check behaviour, the benchmark measures the real cost.
CHEAP = PeopleSettings(argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1)
PASSWORD = "violet-harbour-gravel-37"


class Clock:
    """A clock the test moves by hand (TOTP steps, engagement windows)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sink() -> CollectingAuditSink:
    return CollectingAuditSink()


@pytest.fixture
def make_directory(
    redis_conn: redis.Redis, redis_namespace: str, clock: Clock, sink: CollectingAuditSink
) -> Callable[..., PeopleDirectory]:
    def make(settings: PeopleSettings = CHEAP) -> PeopleDirectory:
        return PeopleDirectory(
            RedisUserStore(redis_conn, f"{redis_namespace}:edgeauth"),
            sealer=Sealer(SecretStr("people-test-kek")),
            settings=settings,
            audit=sink,
            clock=clock,
        )

    return make


@pytest.fixture
def directory(make_directory: Callable[..., PeopleDirectory]) -> PeopleDirectory:
    return make_directory()
