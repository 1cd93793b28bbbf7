"""Fixtures of the composition-root tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from elasticsearch import Elasticsearch

from detections.selftest.scratch import remove_prefix
from tests.vigil.running import RunningVigil


@pytest.fixture
def squatter() -> Iterator[int]:
    """A loopback port held by something that speaks neither HTTP nor RESP."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def vigil_run(es: Elasticsearch, redis_conn: redis.Redis, namespace: str, tmp_path: Path) -> Iterator[RunningVigil]:
    """Vigil's own processes under a scratch namespace; stopped, and everything they made removed, after."""
    run = RunningVigil(namespace, tmp_path)
    try:
        yield run
    finally:
        run.stop()
        remove_prefix(es, redis_conn, namespace)
