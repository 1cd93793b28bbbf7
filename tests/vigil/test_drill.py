"""The small failure drill in `make test`: the code of `bench/drill.py` with a smaller plan.

A 3-node cluster, Redis with two replicas and three Sentinels, two `vigil serve` replicas and two workers on their
own loopback ports (9230-9232/9330-9332, 6420-6422, 26420-26422, 18650-18651); 20,000 events over HTTP ingest
while one Elasticsearch data node and the Redis primary are killed with SIGKILL. Every acknowledged event must be
indexed exactly once, the scanner in the data raises one alert, and the evidence appended through the faults
verifies in its chain and in a bundle checked offline; everything started is stopped and the cluster's data erased.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.drill import Drill, Plan
from vigil.services.process import read_pid
from vigil.settings import VigilSettings

pytestmark = pytest.mark.integration


def test_a_node_and_a_redis_primary_killed_during_ingest_lose_and_duplicate_nothing(
    settings: VigilSettings, tmp_path: Path
) -> None:
    plan = Plan(
        events=20_000,
        rate=400,
        faults=2,
        kinds=("elasticsearch node", "redis primary"),
        ingest_limit=600,
        drain_limit=300,
    )
    drill = Drill(settings, tmp_path, plan)
    with drill:
        outcome = drill.run()
        checks = drill.check()
    assert sorted(f.kind for f in outcome.faults) == ["elasticsearch node", "redis primary"]
    # Both struck while events were still being taken (the shipper is paced to span the faults).
    assert all(f.acknowledged_before < 20_000 for f in outcome.faults), outcome.faults
    assert outcome.accepted == 20_000
    assert (outcome.lost, outcome.duplicated, outcome.unexpected) == (0, 0, 0), outcome
    assert outcome.indexed == 20_000
    assert outcome.dead_lettered == 0
    # What the data should raise is raised once, however often the cycle runs; evidence survives the faults.
    assert (checks.scanner_alerts, checks.scanner_alert_count) == (1, outcome.scanner_events), checks
    assert not checks.chain_problems, checks.chain_problems
    assert not checks.bundle_problems, checks.bundle_problems
    assert checks.chain_entries == checks.bundle_items == outcome.evidence_appended == 3
    # Nothing the drill started outlives it, and its cluster's data is gone.
    assert all(read_pid(node.pidfile) is None for node in drill.cluster.nodes)
    assert all(read_pid(member.pidfile) is None for member in drill.redis.members)
    assert all(proc.poll() is not None for proc in [*drill.apps.values(), *drill.workers.values()])
    assert not drill.cluster.nodes[0].root.parent.exists()
