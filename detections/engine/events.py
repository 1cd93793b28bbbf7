"""Reading matched events out of search hits: snapshots of key fields and group keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from detections.models import EventSnapshot

SNAPSHOT_FIELDS = (
    "@timestamp",
    "event.dataset",
    "event.action",
    "event.outcome",
    "event.reason",
    "event.ingested",
    "source.ip",
    "http.request.id",
    "http.request.method",
    "http.response.status_code",
    "url.original",
    "url.path",
    "user_agent.original",
    "user.name",
    "error.type",
    "error.message",
    "log.level",
    "service.name",
    "vigil.auth.client_id",
    "vigil.auth.scopes",
    "vigil.auth.jti",
    "vigil.auth.kid",
    "vigil.auth.alg",
    "event.provider",
    "client.id",
    "vigil.audit.target",
    "vigil.audit.trigger",
    "vigil.audit.added",
    "vigil.audit.removed",
    "vigil.audit.retention_days",
    "vigil.ingest.client",
)

_MAX_VALUE = 512


def source_value(source: dict[str, Any], dotted: str) -> Any:
    """A field of `_source` by its dotted name, whether the document is nested or flat."""
    if dotted in source:
        return source[dotted]
    node: Any = source
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _MAX_VALUE:
        return value[:_MAX_VALUE] + "…"
    return value


def _flatten(node: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, name + ".", out)
        elif value is not None:
            out[name] = value


def snapshot(hit: dict[str, Any]) -> EventSnapshot:
    """Hits come from our own search with `_source` limited to the snapshot fields, so no validation is needed."""
    flat: dict[str, Any] = {}
    _flatten(hit.get("_source", {}), "", flat)
    fields = {name: _clip(flat[name]) for name in SNAPSHOT_FIELDS if name in flat}
    stamp = fields.get("@timestamp")
    timestamp = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    return EventSnapshot.model_construct(
        id=str(hit.get("_id")), index=hit.get("_index"), timestamp=timestamp, fields=fields
    )


def group_key(source: dict[str, Any], fields: tuple[str, ...]) -> str:
    """`field=value|...` over the group fields; `.caseless` fields group case-insensitively."""
    parts = []
    for name in fields:
        raw = name.removesuffix(".caseless")
        value = source_value(source, raw)
        if isinstance(value, list):
            value = ",".join(sorted(str(v) for v in value))
        text = "" if value is None else str(value)
        parts.append(f"{raw}={text.lower() if name.endswith('.caseless') else text}")
    return "|".join(parts) or "*"
