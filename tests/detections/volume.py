"""Synthetic ECS documents bulk-loaded straight into siem's index templates, for tests whose subject is the engine.

The real ingest (Redis Stream, parse, bulk write) is tested elsewhere; going through it for 100,000 events
would only make these tests slow. Documents carry every field the engine reads, ingested "now".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

SCANNER = "ac205f40-caa4-4100-a77d-592b520fcf38"
SCANNER_AGENTS = ("sqlmap/1.7.2#stable (https://sqlmap.org)", "Mozilla/5.00 (Nikto/2.5.0)", "gobuster/3.6")


def access(
    n: int, ip: str, at: datetime, *, agent: str = SCANNER_AGENTS[0], path: str = "/login", ingested: datetime
) -> dict[str, Any]:
    return {
        "@timestamp": at.isoformat(),
        "event": {"id": f"acc-{ip}-{n}", "dataset": "access", "kind": "event", "ingested": ingested.isoformat()},
        "source": {"ip": ip},
        "http": {"request": {"method": "GET", "id": f"req-{ip}-{n}"}, "response": {"status_code": 404}},
        "url": {"original": path, "path": path},
        "user_agent": {"original": agent},
    }


def exception(n: int, kind: str, at: datetime, *, ingested: datetime, request_id: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@timestamp": at.isoformat(),
        "event": {"id": f"exc-{kind}-{n}", "dataset": "exception", "kind": "event", "ingested": ingested.isoformat()},
        "error": {"type": kind, "message": f"boom {n}"},
    }
    if request_id:
        doc["http"] = {"request": {"id": request_id}}
    return doc


def auth(
    n: int,
    ip: str,
    at: datetime,
    *,
    reason: str,
    client: str,
    ingested: datetime,
    action: str = "verify",
    scope: str = "alerts:read",
) -> dict[str, Any]:
    return {
        "@timestamp": at.isoformat(),
        "event": {
            "id": f"auth-{ip}-{client}-{scope}-{n}",
            "dataset": "auth",
            "kind": "event",
            "action": action,
            "outcome": "failure" if reason != "ok" else "success",
            "reason": reason,
            "ingested": ingested.isoformat(),
        },
        "source": {"ip": ip},
        "vigil": {"auth": {"client_id": client, "scopes": [scope]}},
    }


def ip(n: int, net: int = 10) -> str:
    """A distinct IPv4 address per `n` (up to 16 million)."""
    return f"{net}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def load(es: Elasticsearch, prefix: str, docs: Iterable[dict[str, Any]]) -> int:
    """Index the documents into their dataset's daily index under `prefix`; refreshed on return."""

    def actions() -> Iterator[dict[str, Any]]:
        for doc in docs:
            day = doc["@timestamp"][:10].replace("-", ".")
            yield {
                "_op_type": "create",
                "_index": f"{prefix}-logs-{doc['event']['dataset']}-{day}",
                "_id": doc["event"]["id"],
                "_source": doc,
            }

    done, errors = bulk(es.options(request_timeout=120), actions(), chunk_size=5000, raise_on_error=False)
    assert not errors, str(errors)[:2000]
    es.indices.refresh(index=f"{prefix}-logs-*")
    return done


def spread(start: datetime, span: timedelta, count: int) -> list[datetime]:
    """`count` moments from `start` to exactly `start + span`, both ends included."""
    if count == 1:
        return [start]
    return [start + span * i / (count - 1) for i in range(count)]


def recent() -> datetime:
    """A start time a little in the past, whole milliseconds (Elasticsearch dates keep milliseconds)."""
    now = datetime.now(UTC) - timedelta(minutes=13)
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)
