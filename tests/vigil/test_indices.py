"""Indices declared once by their owners, applied once by `vigil.indices`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from vigil import indices
from vigil.settings import VigilSettings

ROOT = Path(__file__).resolve().parents[2]
# Spelled apart: `git grep` for the setting must find the applier alone, not this test too.
REPLICAS = "number_of_" + "replicas"


def test_every_owner_declares_only_names_in_the_namespace(settings: VigilSettings) -> None:
    scoped = settings.in_namespace("acme")
    by_owner = {owner: indices.declared(scoped, [owner]) for owner in indices.OWNERS}
    assert all(by_owner.values()), f"an owner declares nothing: {by_owner}"
    for owner, templates in by_owner.items():
        for template in templates:
            assert template["meta"]["owner"] == owner
            assert template["name"].startswith("acme-")
            assert all(p.startswith("acme-") for p in template["index_patterns"])
            # Counts are the applier's business: a package declaring them would fork the deployment's policy.
            assert not {"number_of_shards", REPLICAS} & set(template["template"].get("settings", {}))


def test_only_the_applier_names_replica_counts() -> None:
    found = subprocess.run(
        ["git", "grep", "-l", REPLICAS, "--", "*"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert found == ["vigil/indices.py"], found


@pytest.mark.integration
def test_apply_creates_fixed_indices_with_the_cluster_replica_count(
    es: Elasticsearch, settings: VigilSettings, es_namespace: str
) -> None:
    scoped = settings.in_namespace(es_namespace)
    expected = 1 if indices.data_nodes(es) >= 2 else 0
    assert indices.apply(es, scoped, ["detections"]) == expected
    alerts = scoped.detections.alerts_index
    body = es.indices.get(index=alerts)[alerts]
    assert int(body["settings"]["index"][REPLICAS]) == expected
    assert body["mappings"]["properties"]["rule_id"] == {"type": "keyword"}
    # An existing index follows a changed count on the next apply (the cluster grew, or an operator said so).
    assert indices.apply(es, scoped.model_copy(update={"es_replicas": 2}), ["detections"]) == 2
    assert es.indices.get_settings(index=alerts)[alerts]["settings"]["index"][REPLICAS] == "2"
    # Pattern templates create nothing up front; the first write gets the declared mappings and counts.
    indices.apply(es, scoped, ["siem"])
    day = scoped.siem.namespace + "-logs-access-2026.01.02"
    assert not es.indices.exists(index=day)
    es.index(index=day, document={"@timestamp": "2026-01-02T00:00:00Z"}, refresh=True)
    created = es.indices.get(index=day)[day]
    assert created["settings"]["index"][REPLICAS] == str(expected)
    assert f"{es_namespace}-logs" in created["aliases"]
