"""Removing everything under a scratch prefix (rule self-tests, tests, benchmarks): indices, templates, keys.

Deletes by concrete names, because the cluster refuses wildcard deletes (`action.destructive_requires_name`).
"""

from __future__ import annotations

import redis
from elasticsearch import Elasticsearch


def remove_prefix(es: Elasticsearch, redis_client: redis.Redis, prefix: str) -> None:
    lenient = es.options(ignore_status=404)
    names = list(lenient.indices.get(index=f"{prefix}-*", expand_wildcards="all").body or {})
    if names:
        lenient.indices.delete(index=",".join(names))
    for template in lenient.indices.get_index_template(name=f"{prefix}-*").body.get("index_templates", []):
        lenient.indices.delete_index_template(name=template["name"])
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        redis_client.delete(*keys)
