"""Local services: Elasticsearch and Redis started under `.vigil/`, or external servers that answer.

For drills and scale tests, two handles with the same lifecycle (`up`, `down`, `status`):

- `cluster(settings, nodes=3)`: an N-node Elasticsearch cluster on loopback (HTTP on the URL's port + i, transport
  on `es_transport_port` + i), with `nodes`, `kill_node(node)` (SIGKILL) and `start_node(node)` to inject faults,
  `health()`, and `erase()` to drop its data once stopped;
- `keycloak(settings)`: a Keycloak on loopback from its Maven Central distribution, with the realm file of
  `settings.keycloak_realm_file` imported; never part of `up` (only `vigil services up --keycloak` and the
  federation tests' session fixture start it);
- `redis_failover(settings, replicas=1, sentinels=3)`: a Redis primary (the URL's port), replicas (port + i) and
  Sentinels (`redis_sentinel_port` + i), with `members`, `kill(member)` (SIGKILL), `start(member)` and `primary()`.
  Clients built from the same settings (`vigil.clients.redis_client`) find the primary through the Sentinels.
"""

from vigil.services.elasticsearch import ElasticsearchService, Node
from vigil.services.keycloak import KeycloakService
from vigil.services.models import NodeStatus, ServiceStatus
from vigil.services.redis import Member, RedisService
from vigil.settings import VigilSettings

__all__ = [
    "ElasticsearchService",
    "KeycloakService",
    "Member",
    "Node",
    "NodeStatus",
    "RedisService",
    "ServiceStatus",
    "cluster",
    "down",
    "keycloak",
    "redis_failover",
    "services_for",
    "status",
    "up",
]


def cluster(settings: VigilSettings, nodes: int) -> ElasticsearchService:
    """The local Elasticsearch cluster of `nodes` nodes at `settings.es_url` (not started: call `.up()`)."""
    return ElasticsearchService(settings.model_copy(update={"es_nodes": nodes}))


def redis_failover(settings: VigilSettings, replicas: int = 1, sentinels: int = 3) -> RedisService:
    """The local Redis primary, `replicas` replicas and `sentinels` Sentinels (not started: call `.up()`). Use the
    returned service's `.settings` to build clients: they carry the Sentinel addresses."""
    topology = settings.model_copy(update={"redis_replicas": replicas, "redis_sentinels": sentinels})
    if replicas:
        topology.acknowledge_on_a_replica()
    return RedisService(topology)


def keycloak(settings: VigilSettings) -> KeycloakService:
    """The local Keycloak at `settings.keycloak_url` (not started: call `.up()`)."""
    return KeycloakService(settings)


def services_for(settings: VigilSettings) -> tuple[ElasticsearchService, RedisService]:
    return ElasticsearchService(settings), RedisService(settings)


def up(settings: VigilSettings) -> list[ServiceStatus]:
    """Start what is not running (idempotent); Redis first, it is ready in milliseconds."""
    es, rd = services_for(settings)
    return [rd.up(), es.up()]


def down(settings: VigilSettings) -> None:
    """Stop what this project started, the Keycloak of `settings` too when it runs."""
    for service in services_for(settings):
        service.down()
    keycloak(settings).down()


def status(settings: VigilSettings) -> list[ServiceStatus]:
    return [service.status() for service in reversed(services_for(settings))]
