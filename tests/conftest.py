"""Session-scoped fixtures that start the real services once.

There is no skip here: a service that cannot be started fails the run, in CI and on a laptop alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from elasticsearch import Elasticsearch

from vigil import indices, services
from vigil.clients import elasticsearch_client, redis_client
from vigil.errors import VigilError
from vigil.settings import VigilSettings, load_settings

pytest_plugins = ["tests.fixtures.edgeauth", "tests.fixtures.idp"]


@pytest.fixture(scope="session")
def settings() -> VigilSettings:
    return load_settings()


@pytest.fixture(scope="session")
def live_services(settings: VigilSettings) -> list[services.ServiceStatus]:
    try:
        statuses = services.up(settings)
    except VigilError as exc:
        pytest.fail(f"real services are required and could not be started: {exc}", pytrace=False)
    return statuses


@pytest.fixture(scope="session")
def es(settings: VigilSettings, live_services: list[services.ServiceStatus]) -> Elasticsearch:
    return elasticsearch_client(settings)


@pytest.fixture(scope="session")
def redis_conn(settings: VigilSettings, live_services: list[services.ServiceStatus]) -> redis.Redis:
    return redis_client(settings)


@pytest.fixture(scope="session")
def apply_indices(es: Elasticsearch, settings: VigilSettings) -> Callable[..., None]:
    """`apply_indices(namespace, *owners)`: what the app and worker do at start, for the owners a test uses only
    (each index creation is a cluster-state update, about a second on the busy shared node)."""

    def apply(namespace: str, *owners: str) -> None:
        indices.apply(es, settings.in_namespace(namespace), owners or indices.OWNERS)

    return apply


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> str:
    """A unique, lower-case prefix for the indices and keys of one test."""
    return f"t{uuid.uuid4().hex[:10]}"


def remove_indices(es: Elasticsearch, namespace: str) -> None:
    """Every index, template and alias under the prefix."""
    # The server refuses wildcard deletes (action.destructive_requires_name), so resolve the names first.
    indices = list(es.options(ignore_status=404).indices.get(index=f"{namespace}*", expand_wildcards="all"))
    if indices:
        es.options(ignore_status=404).indices.delete(index=",".join(indices))
    es.options(ignore_status=404).indices.delete_index_template(name=f"{namespace}*")


def remove_keys(redis_conn: redis.Redis, namespace: str) -> None:
    keys = list(redis_conn.scan_iter(match=f"{namespace}*", count=1000))
    if keys:
        redis_conn.delete(*keys)


@pytest.fixture
def es_namespace(es: Elasticsearch, namespace: str) -> Iterator[str]:
    """A unique index prefix; every index, template and alias under it is removed after the test."""
    yield namespace
    remove_indices(es, namespace)


@pytest.fixture
def redis_namespace(redis_conn: redis.Redis, namespace: str) -> Iterator[str]:
    """A unique key prefix; every key under it is removed after the test."""
    yield namespace
    remove_keys(redis_conn, namespace)
