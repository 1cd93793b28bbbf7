"""One beat only: two schedulers over the same Redis, and only the lease holder sends due tasks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import cast

import pytest
import redis

from vigil.beat import BeatLock, locked_scheduler
from vigil.clients import redis_client
from vigil.settings import VigilSettings
from vigil.worker import create_celery

pytestmark = pytest.mark.integration


def test_only_one_lease_holder_and_a_standby_takes_over_when_it_lapses(
    settings: VigilSettings, redis_conn: redis.Redis, redis_namespace: str
) -> None:
    key = f"{redis_namespace}:beat:lock"
    first = BeatLock(lambda: redis_client(settings), key, lease_seconds=0.5)
    second = BeatLock(lambda: redis_client(settings), key, lease_seconds=0.5)
    assert first.hold()
    assert not second.hold()
    assert first.hold()  # renewing our own lease
    time.sleep(0.7)  # the holder stopped renewing (crashed)
    assert second.hold()
    assert not first.hold()
    second.release()
    assert first.hold()


def test_a_second_beat_sends_nothing(
    settings: VigilSettings, redis_conn: redis.Redis, redis_namespace: str, tmp_path: Path
) -> None:
    scoped = settings.in_namespace(redis_namespace)
    app = create_celery(scoped)
    app.conf.beat_schedule = {"ping": {"task": "vigil.test.ping", "schedule": 0.05}}
    queue = f"{redis_namespace}:celery:celery"

    def scheduler(name: str) -> object:
        cls = locked_scheduler(BeatLock(lambda: redis_client(scoped), f"{redis_namespace}:beat:lock"))
        return cls(app=app, schedule_filename=str(tmp_path / name))

    active, standby = scheduler("a"), scheduler("b")
    try:
        active.tick()  # type: ignore[attr-defined]  # the first beat to tick takes the lease
        before = int(cast(int, redis_conn.llen(queue)))
        for _ in range(20):
            standby.tick()  # type: ignore[attr-defined]
            time.sleep(0.06)
        assert redis_conn.llen(queue) == before, "a beat scheduled without the lease"
        for _ in range(20):
            active.tick()  # type: ignore[attr-defined]
            standby.tick()  # type: ignore[attr-defined]
            time.sleep(0.06)
        assert int(cast(int, redis_conn.llen(queue))) >= before + 5  # the holder keeps scheduling
    finally:
        for beat in (active, standby):
            beat.close()  # type: ignore[attr-defined]
