"""Fixtures of the siem tests: a pipeline under a unique prefix, cleaned up by concrete names."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
import redis
from elasticsearch import Elasticsearch

from siem import Pipeline, SiemSettings
from tests.fixtures.loopback import served_on


def remove_prefix(es: Elasticsearch, redis_conn: redis.Redis, prefix: str) -> None:
    """Delete by concrete names: the cluster refuses wildcard deletes (`action.destructive_requires_name`)."""
    names = list(es.options(ignore_status=404).indices.get(index=f"{prefix}*", expand_wildcards="all").body or {})
    if names:
        es.options(ignore_status=404).indices.delete(index=",".join(names))
    found = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}*").body
    templates = found.get("index_templates", []) if isinstance(found, dict) else []
    for template in templates:
        es.options(ignore_status=404).indices.delete_index_template(name=template["name"])
    keys = list(redis_conn.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        redis_conn.delete(*keys)


@pytest.fixture
def siem_prefix(es: Elasticsearch, redis_conn: redis.Redis, namespace: str) -> Iterator[str]:
    yield namespace
    remove_prefix(es, redis_conn, namespace)


@pytest.fixture
def make_pipeline(
    es: Elasticsearch, redis_conn: redis.Redis, siem_prefix: str, apply_indices: Callable[..., None]
) -> Callable[..., Pipeline]:
    applied = False

    def make(
        es_client: Elasticsearch | None = None, redis_client: redis.Redis | None = None, **overrides: Any
    ) -> Pipeline:
        settings = SiemSettings(namespace=siem_prefix, **overrides)
        nonlocal applied
        if not applied:
            apply_indices(siem_prefix, "siem")
            applied = True
        pipeline = Pipeline(es_client or es, redis_client or redis_conn, settings)
        pipeline.setup()
        return pipeline

    return make


@pytest.fixture
def queue_only(es: Elasticsearch, redis_conn: redis.Redis, siem_prefix: str) -> Pipeline:
    """A pipeline whose requests never reach Elasticsearch (refusals): no index templates, so no cluster-state
    updates on the shared node (a second each)."""
    pipeline = Pipeline(es, redis_conn, SiemSettings(namespace=siem_prefix, max_request_bytes=1024 * 1024))
    pipeline.setup()
    return pipeline


@pytest.fixture
def pipeline(make_pipeline: Callable[..., Pipeline]) -> Pipeline:
    return make_pipeline(chunk_records=50, batch_max_events=200, es_retry_seconds=2.0)


def nginx_line(n: int, *, ip: str = "10.1.2.3", status: int = 200, path: str = "/orders") -> str:
    return f'{ip} - - [29/Nov/2026:05:00:00 +0000] "GET {path}/{n} HTTP/1.1" {status} 512 "-" "pytest/{n}"'


def count_docs(es: Elasticsearch, index: str, query: dict[str, Any] | None = None) -> int:
    es.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
    return int(
        es.count(index=index, query=query or {"match_all": {}}, ignore_unavailable=True, allow_no_indices=True)["count"]
    )


def shipper_port() -> int:
    """A free port of this suite's shipper range (18500-18599), so shippers and apps started here meet nobody."""
    for port in range(18500, 18600):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18500-18599")


def served(app: Any) -> AbstractContextManager[str]:
    """`app` behind a real uvicorn on a port of the shipper range (shippers speak HTTP, not ASGI)."""
    return served_on(app, shipper_port())
