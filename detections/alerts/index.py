"""The indices detections owns (`{namespace}-alerts`, `-detections-runs`, `-audit`, `-exceptions`), as data."""

from __future__ import annotations

from typing import Any

from detections.models import Level
from detections.settings import DetectionsSettings

LEVEL_RANK = {Level.INFORMATIONAL: 0, Level.LOW: 1, Level.MEDIUM: 2, Level.HIGH: 3, Level.CRITICAL: 4}

_KW = {"type": "keyword"}
_DATE = {"type": "date"}

ALERT_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "id": _KW,
        "rule_id": _KW,
        "rule_title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 1024}}},
        "level": _KW,
        "level_rank": {"type": "byte"},
        "category": _KW,
        "tags": _KW,
        "attack": _KW,
        "dataset": _KW,
        "group_key": {"type": "keyword", "fields": {"text": {"type": "text"}}},
        "first_seen": _DATE,
        "last_seen": _DATE,
        "created": _DATE,
        "updated": _DATE,
        "count": {"type": "long"},
        "event_ids": _KW,
        "clients": _KW,  # the OAuth clients the alert's events name (store.clients_of): per-client reports
        "events": {"type": "object", "enabled": False},
        "status": _KW,
        "verdict": _KW,
        "assignee": _KW,
        "acknowledged_at": _DATE,
        "resolved_at": _DATE,
        "summary": {"type": "text"},
        "transitions": {"type": "object", "enabled": False},
        "notes": {"type": "object", "enabled": False},
    },
}

RUN_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "rule_id": _KW,
        "started": _DATE,
        "window_start": _DATE,
        "window_end": _DATE,
        "duration_ms": {"type": "float"},
        "hits": {"type": "long"},
        "alerts": {"type": "long"},
        "error": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 1024}}},
        "has_error": {"type": "boolean"},
    },
}

AUDIT_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "@timestamp": _DATE,
        "actor": _KW,
        "action": _KW,
        "rule_id": _KW,
        "detail": {"type": "object", "enabled": False},
    },
}


EXCEPTION_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "id": _KW,
        "rule_id": _KW,
        "author": _KW,
        "created": _DATE,
        "expires": _DATE,
        "deleted_at": _DATE,
    },
}


HUNT_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {"id": _KW, "status": _KW, "actor": _KW, "created": _DATE},
}


def index_templates(settings: DetectionsSettings) -> list[dict[str, Any]]:
    """The indices detections owns, as data (Elasticsearch index templates): `vigil` applies them."""
    owned = [
        (settings.alerts_index, ALERT_MAPPINGS),
        (settings.runs_index, RUN_MAPPINGS),
        (settings.audit_index, AUDIT_MAPPINGS),
        (settings.exceptions_index, EXCEPTION_MAPPINGS),
        (settings.hunts_index, HUNT_MAPPINGS),
    ]
    return [
        {"name": name, "index_patterns": [name], "template": {"mappings": mappings}, "meta": {"owner": "detections"}}
        for name, mappings in owned
    ]
