"""Elasticsearch layout: index templates declared as data, daily index names, the search alias.

One index template per dataset (and one for the dead letter, one for siem's audit trail), all with the same ECS
mappings; `vigil` applies them with the shard and replica counts of the deployment. Every keyword field
detections match on carries a `.caseless` sub-field with the built-in `lowercase` normalizer, because Sigma
matching is case-insensitive. `dynamic: false` keeps fields
siem did not model out of the mapping (they stay readable in `event.original`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from siem.ecs import DATASETS, Dataset
from siem.settings import SiemSettings

#: An Elasticsearch composable index template as data: `name`, `index_patterns`, `template` (`settings`,
#: `mappings`, `aliases`) and `meta` (`owner`). A pattern without `*` names one index, created when applied.
IndexTemplate = dict[str, Any]

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
        severity={"type": "long"},
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
    "log": _object(
        level=_keyword(),
        logger=_keyword(),
        syslog=_object(
            priority={"type": "long"},
            facility=_object(code={"type": "long"}, name=_keyword()),
            severity=_object(code={"type": "long"}, name=_keyword()),
            hostname=_keyword(),
            appname=_keyword(),
            procid=_keyword(),
            msgid=_keyword(),
            version=_keyword(),
            structured_data={"type": "flattened"},
        ),
    ),
    "host": _object(hostname=_keyword()),
    "process": _object(name=_keyword(), pid={"type": "long"}),
    "trace": _object(id={"type": "keyword"}),
    "span": _object(id={"type": "keyword"}),
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
        canary=_object(
            name=_keyword(),
            tier=_keyword(),
            clients=_keyword(),
            step=_keyword(),
            slow={"type": "boolean"},
            latency_objective_ms={"type": "double"},
        ),
        otel=_object(
            resource={"type": "flattened"},
            attributes={"type": "flattened"},
            scope=_object(name=_keyword(), version=_keyword()),
            event_name=_keyword(),
        ),
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

    @classmethod
    def of(cls, namespace: str) -> IndexLayout:
        """The layout of a namespace, for readers (detections, compliance) that hold no siem settings."""
        return cls(SiemSettings(namespace=namespace))

    def dataset_pattern(self, dataset: str) -> str:
        """Every daily index of one dataset."""
        return f"{self.namespace}-logs-{dataset}-*"

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
            "refresh_interval": self.settings.refresh_interval,
            "mapping": {"total_fields": {"limit": 500}, "depth": {"limit": 8}},
        }

    def templates(self) -> list[IndexTemplate]:
        """The index templates siem owns, as data: `vigil` applies them (with shard and replica counts)."""
        logs = {"dynamic": False, "properties": ECS_PROPERTIES}
        declared: list[IndexTemplate] = [
            {
                "name": f"{self.namespace}-logs-{dataset}",
                "index_patterns": [self.dataset_pattern(dataset)],
                "template": {"settings": self._settings(), "mappings": logs, "aliases": {self.alias: {}}},
                "meta": {"owner": "siem", "dataset": dataset},
            }
            for dataset in DATASETS
        ]
        declared.append(
            {
                "name": f"{self.namespace}-deadletter",
                "index_patterns": [self.deadletter_pattern],
                "template": {
                    "settings": self._settings(),
                    "mappings": {"dynamic": False, "properties": DEADLETTER_PROPERTIES},
                },
                "meta": {"owner": "siem"},
            }
        )
        declared.append(
            {
                "name": f"{self.namespace}-siem-audit",
                "index_patterns": [self.audit_index],
                "template": {
                    "settings": {**self._settings(), "refresh_interval": "1s"},
                    "mappings": {"dynamic": False, "properties": AUDIT_PROPERTIES},
                },
                "meta": {"owner": "siem"},
            }
        )
        return declared


def index_templates(settings: SiemSettings) -> list[IndexTemplate]:
    """Every index template siem owns in `settings.namespace`."""
    return IndexLayout(settings).templates()
