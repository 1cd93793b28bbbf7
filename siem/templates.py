"""Elasticsearch layout: composable index templates, daily index names, the search alias.

One component template holds the ECS mappings shared by all datasets; one index template per dataset (and one
for the dead letter) composes it. Every keyword field detections match on carries a `.caseless` sub-field with
the built-in `lowercase` normalizer, because Sigma matching is case-insensitive. `dynamic: false` keeps fields
siem did not model out of the mapping (they stay readable in `event.original`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from elasticsearch import Elasticsearch

from siem.ecs import DATASETS, Dataset
from siem.settings import SiemSettings

_CASELESS = {"caseless": {"type": "keyword", "normalizer": "lowercase", "ignore_above": 8191}}


def _keyword(ignore_above: int = 1024) -> dict[str, Any]:
    return {"type": "keyword", "ignore_above": ignore_above, "fields": _CASELESS}


def _text() -> dict[str, Any]:
    return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 8191}, **_CASELESS}}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"properties": properties}


ECS_PROPERTIES: dict[str, Any] = {
    "@timestamp": {"type": "date"},
    "message": _text(),
    "event": _object(
        id={"type": "keyword"},
        dataset=_keyword(),
        kind=_keyword(),
        category=_keyword(),
        type=_keyword(),
        outcome=_keyword(),
        action=_keyword(),
        reason=_keyword(),
        provider=_keyword(),
        duration={"type": "long"},
        original={"type": "keyword", "index": False, "doc_values": False},
        ingested={"type": "date"},
    ),
    "source": _object(ip={"type": "ip"}),
    "http": _object(
        request=_object(id=_keyword(), method=_keyword(), referrer=_keyword(8191)),
        response=_object(status_code={"type": "long"}, body=_object(bytes={"type": "long"})),
    ),
    "url": _object(original=_keyword(8191), path=_keyword(8191), query=_keyword(8191), domain=_keyword()),
    "user_agent": _object(original=_keyword(8191)),
    "user": _object(name=_keyword()),
    "client": _object(id=_keyword()),
    "service": _object(name=_keyword()),
    "error": _object(type=_keyword(), message=_text(), stack_trace={"type": "text", "fields": _CASELESS}),
    "log": _object(level=_keyword()),
    "vigil": _object(
        rails=_object(controller=_keyword(), action=_keyword()),
        auth=_object(client_id=_keyword(), scopes=_keyword(), jti=_keyword(), kid=_keyword(), alg=_keyword()),
        audit=_object(
            target=_keyword(),
            trigger=_keyword(),
            added=_keyword(),
            removed=_keyword(),
            retention_days={"type": "long"},
            before={"type": "keyword", "index": False, "doc_values": False},
            after={"type": "keyword", "index": False, "doc_values": False},
        ),
        ingest=_object(client=_keyword()),
    ),
}

DEADLETTER_PROPERTIES: dict[str, Any] = {
    "@timestamp": {"type": "date"},
    "event": _object(
        id={"type": "keyword"}, dataset=_keyword(), original={"type": "keyword", "index": False, "doc_values": False}
    ),
    "error": _object(type=_keyword(), message=_text()),
    "vigil": _object(
        deadletter=_object(
            format={"type": "keyword"},
            source={"type": "keyword"},
            stream_id={"type": "keyword"},
            deliveries={"type": "long"},
            replayed={"type": "boolean"},
        )
    ),
}


AUDIT_PROPERTIES: dict[str, Any] = {
    "@timestamp": {"type": "date"},
    "message": _text(),
    "event": _object(id={"type": "keyword"}, kind=_keyword(), category=_keyword(), action=_keyword()),
    "vigil": _object(
        retention=_object(
            index={"type": "keyword"},
            index_day={"type": "date", "format": "yyyy.MM.dd"},
            retention_days={"type": "long"},
            docs={"type": "long"},
        )
    ),
}


class IndexLayout:
    """Names and templates of one namespace (`vigil` in production, a test namespace in tests)."""

    def __init__(self, settings: SiemSettings) -> None:
        self.settings = settings
        self.namespace = settings.namespace

    @property
    def alias(self) -> str:
        return f"{self.namespace}-logs"

    @property
    def logs_pattern(self) -> str:
        return f"{self.namespace}-logs-*"

    @property
    def deadletter_pattern(self) -> str:
        return f"{self.namespace}-deadletter-*"

    @property
    def audit_index(self) -> str:
        """siem's own audit trail (retention deletions); never subject to retention itself."""
        return f"{self.namespace}-siem-audit"

    def index_for(self, dataset: Dataset, day: date | datetime) -> str:
        return f"{self.namespace}-logs-{dataset}-{day:%Y.%m.%d}"

    def index_for_timestamp(self, dataset: Dataset, timestamp: str) -> str:
        """The daily index of a validated document's UTC `@timestamp` (`YYYY-MM-DDTHH:MM:SS...Z`)."""
        return f"{self.namespace}-logs-{dataset}-{timestamp[0:4]}.{timestamp[5:7]}.{timestamp[8:10]}"

    def deadletter_for(self, day: date | datetime) -> str:
        return f"{self.namespace}-deadletter-{day:%Y.%m.%d}"

    def _settings(self) -> dict[str, Any]:
        return {
            "number_of_shards": self.settings.number_of_shards,
            "number_of_replicas": self.settings.number_of_replicas,
            "refresh_interval": self.settings.refresh_interval,
            "mapping": {"total_fields": {"limit": 500}, "depth": {"limit": 8}},
        }

    def install(self, es: Elasticsearch) -> None:
        """Create or update the component and index templates (idempotent)."""
        component = f"{self.namespace}-ecs-logs"
        es.cluster.put_component_template(
            name=component,
            template={"settings": self._settings(), "mappings": {"dynamic": False, "properties": ECS_PROPERTIES}},
        )
        for dataset in DATASETS:
            es.indices.put_index_template(
                name=f"{self.namespace}-logs-{dataset}",
                index_patterns=[f"{self.namespace}-logs-{dataset}-*"],
                composed_of=[component],
                template={"aliases": {self.alias: {}}},
                priority=200,
                meta={"owner": "siem", "dataset": dataset},
            )
        es.indices.put_index_template(
            name=f"{self.namespace}-deadletter",
            index_patterns=[self.deadletter_pattern],
            template={
                "settings": self._settings(),
                "mappings": {"dynamic": False, "properties": DEADLETTER_PROPERTIES},
            },
            priority=200,
            meta={"owner": "siem"},
        )
        es.indices.put_index_template(
            name=f"{self.namespace}-siem-audit",
            index_patterns=[self.audit_index],
            template={
                "settings": {**self._settings(), "refresh_interval": "1s"},
                "mappings": {"dynamic": False, "properties": AUDIT_PROPERTIES},
            },
            priority=200,
            meta={"owner": "siem"},
        )
