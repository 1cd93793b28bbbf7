"""A real three-node Elasticsearch cluster on loopback: up, status per node, a node killed and restarted, down.

It runs on its own ports (HTTP 9210-9212, transport 9310-9312) beside the shared single node, from the same
unpacked distribution, and stops what it started.
"""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from vigil import indices, services
from vigil.services.process import read_pid, wait_until
from vigil.settings import VigilSettings

pytestmark = pytest.mark.integration

HTTP_PORT = 9210
TRANSPORT_PORT = 9310


def test_three_nodes_form_one_cluster_survive_a_kill_and_stop(settings: VigilSettings, namespace: str) -> None:
    scoped = settings.in_namespace(namespace).model_copy(
        update={
            "es_url": f"http://127.0.0.1:{HTTP_PORT}",
            "es_transport_port": TRANSPORT_PORT,
            "es_node_heap": "512m",
            "es_start_timeout": 300.0,
        }
    )
    cluster = services.cluster(scoped, 3)
    try:
        status = cluster.up()
        assert status.healthy, status
        assert [n.up for n in status.nodes] == [True, True, True], status.nodes
        assert sum(n.master for n in status.nodes) == 1
        assert all("d" in n.roles and "m" in n.roles for n in status.nodes), status.nodes
        assert {n.address for n in status.nodes} == {f"127.0.0.1:{HTTP_PORT + i}" for i in range(3)}

        es = Elasticsearch(scoped.es_url, request_timeout=30)
        assert indices.apply(es, scoped, ["detections"]) == 1  # three data nodes: one replica by default
        alerts = scoped.detections.alerts_index
        es.index(index=alerts, id="a1", document={"id": "a1", "rule_id": "r"}, refresh=True)
        assert wait_until(lambda: es.cluster.health(index=alerts)["status"] == "green", 120, 1.0)

        # A crash of a node holding data: the cluster keeps answering from the others and the copy.
        victim = cluster.nodes[2]
        assert cluster.kill_node(victim) is not None
        survivor = Elasticsearch(cluster.nodes[0].url, request_timeout=30)
        assert wait_until(lambda: survivor.cluster.health()["number_of_nodes"] == 2, 120, 1.0)
        assert survivor.get(index=alerts, id="a1")["_source"]["rule_id"] == "r"
        cluster.start_node(victim)
        assert survivor.cluster.health()["number_of_nodes"] == 3
        assert [n.up for n in cluster.status().nodes] == [True, True, True]
    finally:
        cluster.down()
    assert all(read_pid(node.pidfile) is None for node in cluster.nodes)
    assert not cluster.answers()
    cluster.erase()
    assert not cluster.nodes[0].root.exists()
