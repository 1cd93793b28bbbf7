"""The one place that applies the indices every package declares, with the deployment's shard and replica counts.

Packages own their mappings and names (`siem.index_templates`, `detections.index_templates`, ...) and declare them
as Elasticsearch index templates; nothing in them creates an index. `apply` puts every template with
`number_of_shards` and `number_of_replicas` from settings, creates the indices whose pattern has no wildcard (so a
read before the first write finds an empty index, not a 404), and moves existing indices to the replica count when
the cluster grew or shrank. Callers: the app, the worker and the CLI through `ensure_applied` (once per process
and namespace), tests through their fixtures (only the owners they use: each index creation is a cluster-state
update, about a second on a busy single node).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from elasticsearch import ApiError, Elasticsearch

import compliance
import detections
import evidence
import siem
from vigil.errors import ServiceError
from vigil.settings import VigilSettings

#: Who owns indices, and how each declares them from Vigil's settings.
DECLARATIONS: dict[str, Callable[[VigilSettings], list[dict[str, Any]]]] = {
    "siem": lambda s: siem.index_templates(s.siem),
    "detections": lambda s: detections.index_templates(s.detections),
    "evidence": lambda s: evidence.index_templates(s.evidence),
    "compliance": lambda s: compliance.index_templates(s.compliance),
}
OWNERS = tuple(DECLARATIONS)

#: Above the built-in templates (priority 0-100) so a stack template never wins over ours.
PRIORITY = 200


def declared(settings: VigilSettings, owners: Iterable[str] = OWNERS) -> list[dict[str, Any]]:
    return [template for owner in owners for template in DECLARATIONS[owner](settings)]


def data_nodes(es: Elasticsearch) -> int:
    nodes = es.nodes.info(filter_path="nodes.*.roles")["nodes"] or {}
    return sum(1 for node in nodes.values() if any(r == "data" or r.startswith("data_") for r in node["roles"]))


def replica_count(es: Elasticsearch, settings: VigilSettings) -> int:
    """`VIGIL_ES_REPLICAS` when set; else one copy more when a second data node can hold it, none otherwise."""
    if settings.es_replicas is not None:
        return settings.es_replicas
    return 1 if data_nodes(es) >= 2 else 0


def apply(es: Elasticsearch, settings: VigilSettings, owners: Iterable[str] = OWNERS) -> int:
    """Put every declared template and create its fixed-name indices; returns the replica count applied."""
    replicas = replica_count(es, settings)
    counts = {"number_of_shards": settings.es_shards, "number_of_replicas": replicas}
    try:
        for declaration in declared(settings, owners):
            template = dict(declaration["template"])
            template["settings"] = {**template.get("settings", {}), **counts}
            patterns: list[str] = declaration["index_patterns"]
            es.indices.put_index_template(
                name=declaration["name"],
                index_patterns=patterns,
                template=template,
                priority=PRIORITY,
                meta=declaration.get("meta"),
            )
            for pattern in patterns:
                if "*" not in pattern and not es.indices.exists(index=pattern):
                    # A concurrent creator winning the race is fine: the template made both identical.
                    es.options(ignore_status=400).indices.create(index=pattern)
                elif "*" not in pattern and "properties" in template.get("mappings", {}):
                    # A field added in a later version (e.g. the alerts' `clients`) reaches an existing index too;
                    # a changed type is refused by Elasticsearch and reported below, never silently kept.
                    es.indices.put_mapping(index=pattern, properties=template["mappings"]["properties"])
                _set_replicas(es, pattern, replicas)
    except ApiError as exc:
        raise ServiceError(f"cannot apply the index templates: {exc}") from None
    return replicas


def _set_replicas(es: Elasticsearch, pattern: str, replicas: int) -> None:
    """Existing indices follow the cluster: only those whose count differs are touched (each change is costly)."""
    found = es.options(ignore_status=404).indices.get_settings(
        index=pattern, name="index.number_of_replicas", allow_no_indices=True, expand_wildcards="open"
    )
    stale = [
        name
        for name, body in (found.body or {}).items()
        if int(body["settings"]["index"]["number_of_replicas"]) != replicas
    ]
    if stale:
        es.indices.put_settings(index=",".join(stale), settings={"index": {"number_of_replicas": replicas}})


_applied: set[tuple[str, str]] = set()
_applied_lock = threading.Lock()


def ensure_applied(es: Elasticsearch, settings: VigilSettings) -> None:
    """`apply` once per process, cluster and namespace (the app, the worker and every CLI command call this)."""
    key = (settings.es_url, settings.namespace)
    with _applied_lock:
        if key in _applied:
            return
        apply(es, settings)
        _applied.add(key)
