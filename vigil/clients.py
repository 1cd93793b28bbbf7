"""Clients for the services, built from settings (never at import time): the one place that builds them.

With Sentinels configured (`VIGIL_REDIS_SENTINELS` locally, `VIGIL_REDIS_SENTINEL_HOSTS` for external ones), every
Redis client asks them for the current primary and asks again after a failover; the broker URL does the same for
Celery (kombu's `sentinel://` transport).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

import redis
from redis.sentinel import Sentinel

from vigil.settings import VigilSettings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


def elasticsearch_client(settings: VigilSettings, request_timeout: float = 30.0) -> Elasticsearch:
    # Imported here: the edge verifier process builds a Redis client from this module and never talks to
    # Elasticsearch, whose client is the largest import of all.
    from elastic_transport.client_utils import DEFAULT
    from elasticsearch import Elasticsearch

    return Elasticsearch(
        settings.es_url,
        api_key=settings.es_api_key.get_secret_value() if settings.es_api_key else None,
        ca_certs=str(settings.es_ca_certs) if settings.es_ca_certs else DEFAULT,
        request_timeout=request_timeout,
        retry_on_timeout=True,
        max_retries=2,
    )


def _credentials(settings: VigilSettings) -> tuple[str | None, int]:
    parts = urlsplit(settings.redis_url.get_secret_value())
    password = unquote(parts.password) if parts.password else None
    db = int(parts.path.lstrip("/") or 0) if parts.scheme != "unix" else 0
    return password, db


def redis_client(
    settings: VigilSettings, *, decode_responses: bool = False, socket_timeout: float | None = 30.0
) -> redis.Redis:
    """A Redis client; `socket_timeout` bounds every reply so a silent peer cannot hang a caller."""
    options: dict[str, Any] = {
        "decode_responses": decode_responses,
        "socket_connect_timeout": 2.0,
        "socket_timeout": socket_timeout,
        "health_check_interval": 30,
    }
    if settings.sentinels:
        password, db = _credentials(settings)
        sentinel = Sentinel(settings.sentinels, socket_timeout=2.0, socket_connect_timeout=2.0)  # type: ignore[no-untyped-call]
        # redis-py leaves `master_for` untyped; it returns a `redis.Redis` bound to a Sentinel-managed pool.
        primary = sentinel.master_for(  # type: ignore[no-untyped-call]
            settings.redis_master_name, password=password, db=db, **options
        )
        return cast(redis.Redis, primary)
    return redis.Redis.from_url(settings.redis_url.get_secret_value(), **options)


def broker_url(settings: VigilSettings) -> tuple[str, dict[str, Any]]:
    """Celery's broker URL and the transport options it needs (through Sentinel when configured)."""
    if not settings.sentinels:
        return settings.redis_url.get_secret_value(), {}
    password, db = _credentials(settings)
    auth = f":{password}@" if password else ""
    url = ";".join(f"sentinel://{auth}{host}:{port}/{db}" for host, port in settings.sentinels)
    return url, {"master_name": settings.redis_master_name}
