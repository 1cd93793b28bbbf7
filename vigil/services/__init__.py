"""Local services: Elasticsearch and Redis started under `.vigil/`, or external servers that answer."""

from vigil.services.elasticsearch import ElasticsearchService
from vigil.services.models import ServiceStatus
from vigil.services.redis import RedisService
from vigil.settings import VigilSettings

__all__ = ["ElasticsearchService", "RedisService", "ServiceStatus", "down", "services_for", "status", "up"]


def services_for(settings: VigilSettings) -> tuple[ElasticsearchService, RedisService]:
    return ElasticsearchService(settings), RedisService(settings)


def up(settings: VigilSettings) -> list[ServiceStatus]:
    """Start what is not running (idempotent); Redis first, it is ready in milliseconds."""
    es, rd = services_for(settings)
    return [rd.up(), es.up()]


def down(settings: VigilSettings) -> None:
    for service in services_for(settings):
        service.down()


def status(settings: VigilSettings) -> list[ServiceStatus]:
    return [service.status() for service in reversed(services_for(settings))]
