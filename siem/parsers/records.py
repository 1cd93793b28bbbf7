"""Shared pieces of the parsers: the parser signature and tolerant readers of JSON records."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from siem.errors import ParseError

Parser = Callable[[str], dict[str, Any]]


def load_object(record: str, fmt: str) -> dict[str, Any]:
    """Decode one JSON object; deep nesting and non-objects are parse errors, never crashes."""
    try:
        value = json.loads(record)
    except RecursionError:
        raise ParseError(f"{fmt} record is nested too deeply to decode") from None
    except ValueError as exc:
        raise ParseError(f"{fmt} record is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ParseError(f"{fmt} record must be a JSON object, got {type(value).__name__}")
    return value


def compact(**fields: Any) -> dict[str, Any] | None:
    """An ECS object without its absent fields, or None when none is present (built bottom-up, no second pass)."""
    kept = {key: value for key, value in fields.items() if value is not None}
    return kept or None


def document(timestamp: Any, **fields: Any) -> dict[str, Any]:
    """The top level of a parsed record (`@timestamp` is no Python identifier)."""
    kept = {key: value for key, value in fields.items() if value is not None}
    if timestamp is not None:
        kept["@timestamp"] = timestamp
    return kept


def first(obj: dict[str, Any], *keys: str) -> Any:
    """The value of the first key present and not null."""
    for key in keys:
        value = obj.get(key)
        if value is not None:
            return value
    return None


def producer_id(obj: dict[str, Any]) -> str | None:
    """The producer's own event id (`event.id` or `id`), which makes re-sent records idempotent."""
    event = obj.get("event")
    value = event.get("id") if isinstance(event, dict) else None
    value = value if value is not None else obj.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= 200 else None
