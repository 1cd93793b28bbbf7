"""Redis that survives its primary: a primary, a replica and three Sentinels on loopback, the primary killed -9.

Every batch ingest acknowledged (queued, then confirmed by a replica with WAIT) is still in the stream after
Sentinel promotes the replica, and the same clients keep writing. Own ports (6400-6401, 26400-26402) and own
folder, stopped afterwards.
"""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from elasticsearch import Elasticsearch
from pydantic import SecretStr

from edgeauth import RevocationPublisher, RevocationReplica
from siem import Pipeline, QueueUnavailableError
from vigil import services
from vigil.clients import broker_url, redis_client
from vigil.services.process import read_pid, wait_until
from vigil.settings import VigilSettings, load_settings

pytestmark = pytest.mark.integration

PRIMARY_PORT = 6400
SENTINEL_PORT = 26400


def _push(pipeline: Pipeline, n: int) -> bool:
    try:
        pipeline.push("json", [f'{{"message": "batch {n}"}}'])
    except QueueUnavailableError:
        return False
    return True


def test_a_killed_primary_loses_no_acknowledged_batch(
    settings: VigilSettings, es: Elasticsearch, es_namespace: str, tmp_path: Path
) -> None:
    scoped = settings.in_namespace(es_namespace).model_copy(
        update={
            "home": tmp_path,
            "redis_url": SecretStr(f"redis://127.0.0.1:{PRIMARY_PORT}/0"),
            "redis_sentinel_port": SENTINEL_PORT,
        }
    )
    topology = services.redis_failover(scoped, replicas=1, sentinels=3)
    configured = topology.settings
    try:
        status = topology.up()
        assert status.healthy, status
        assert [(m.roles, m.up) for m in status.nodes] == [
            ("primary", True),
            ("replica", True),
            ("sentinel", True),
            ("sentinel", True),
            ("sentinel", True),
        ]
        assert topology.primary() == ("127.0.0.1", PRIMARY_PORT)
        url, options = broker_url(configured)
        assert url.count("sentinel://") == 3
        assert options == {"master_name": "vigil"}

        # Settings with replicas turn WAIT on: a batch is acknowledged only once a replica holds it.
        assert configured.siem.wait_replicas == 1
        assert load_settings(redis_replicas=1).siem.wait_replicas == 1
        assert load_settings().siem.wait_replicas == 0
        reloaded = configured
        client = redis_client(configured)
        pipeline = Pipeline(es, client, reloaded.siem)
        pipeline.setup()
        # A refused batch (WAIT short of a replica) is retried, as a producer would: it may then sit in the stream
        # twice, which the event ids make harmless; what must never happen is an acknowledged batch going missing.
        assert all(wait_until(partial(_push, pipeline, n), 30, 0.2) for n in range(200))
        # Revocations and checkpoints are acknowledged the same way (revocations wait for a replica too).
        edge = configured.edgeauth
        assert edge.wait_replicas == 1
        publisher = RevocationPublisher(client, edge)
        follower = RevocationReplica(redis_client(configured), edge)
        publisher.revoke("jti-before", time.time() + 3600)
        follower.poll(None)
        checkpoints = configured.detections.key("checkpoints")
        client.hset(checkpoints, "rule-1", "2026-01-01T00:00:00Z")

        old = topology.members[0]
        assert topology.kill(old) is not None
        # Writes fail (never silently succeed) until Sentinel has promoted the replica; then they continue.
        assert wait_until(lambda: topology.primary() == ("127.0.0.1", PRIMARY_PORT + 1), 60, 0.5)
        # The new primary has no replica yet: a batch is refused (503 upstream), never acknowledged on one copy.
        assert not _push(pipeline, 200)
        # The killed primary comes back as a replica of the new one (Sentinel reconfigures it); writes continue.
        topology.start(old)
        back = redis.Redis(port=PRIMARY_PORT, socket_timeout=2.0, decode_responses=True)
        assert wait_until(lambda: cast(dict[str, Any], back.info("replication"))["role"] == "slave", 60, 0.5)
        assert all(wait_until(partial(_push, pipeline, n), 30, 0.5) for n in range(200, 300))
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(reloaded.siem.stream_key, "-", "+"))
        stored = {json.loads(fields[b"r"])[0] for _, fields in entries}
        missing = [n for n in range(300) if f'{{"message": "batch {n}"}}' not in stored]
        assert not missing, f"acknowledged batches missing after the failover: {missing}"
        publisher.revoke("jti-after", time.time() + 3600)
        follower.poll(None)
        assert follower.is_revoked("jti-before")
        assert follower.is_revoked("jti-after")
        assert cast(bytes, client.hget(checkpoints, "rule-1")) == b"2026-01-01T00:00:00Z"
    finally:
        topology.down()
    assert all(read_pid(m.pidfile) is None for m in topology.members)
