"""Clients for the services, built from settings (never at import time)."""

from __future__ import annotations

import redis
from elastic_transport.client_utils import DEFAULT
from elasticsearch import Elasticsearch

from vigil.settings import VigilSettings


def elasticsearch_client(settings: VigilSettings, request_timeout: float = 30.0) -> Elasticsearch:
    return Elasticsearch(
        settings.es_url,
        api_key=settings.es_api_key.get_secret_value() if settings.es_api_key else None,
        ca_certs=str(settings.es_ca_certs) if settings.es_ca_certs else DEFAULT,
        request_timeout=request_timeout,
        retry_on_timeout=True,
        max_retries=2,
    )


def redis_client(
    settings: VigilSettings, *, decode_responses: bool = False, socket_timeout: float | None = 30.0
) -> redis.Redis:
    """A Redis client; `socket_timeout` bounds every reply so a silent peer cannot hang a caller."""
    return redis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        decode_responses=decode_responses,
        socket_connect_timeout=2.0,
        socket_timeout=socket_timeout,
        health_check_interval=30,
    )
