"""Audit events (edgeauth's `AuditEvent` JSON, one per audited change) as ECS `configuration | iam | file` events.

The record is validated by the producer's own model, so a malformed one is refused naming its field; the
searchable facts (`event.action`, `user.name`, `client.id`, `vigil.audit.added`...) are what Sigma rules match.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from edgeauth import AuditEvent
from siem.errors import ParseError
from siem.parsers.records import compact, document


def _json(side: dict[str, Any] | None) -> str | None:
    return None if side is None else json.dumps(side, sort_keys=True, separators=(",", ":"))


def parse_audit(record: str) -> dict[str, Any]:
    try:
        event = AuditEvent.model_validate_json(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        raise ParseError(f"audit record field {where}: {first['msg']}") from None
    retention = (event.after or {}).get("retention_days")
    who = event.actor or event.client_id or event.provider
    return document(
        event.timestamp,
        event=compact(
            id=event.id,
            kind="event",
            category=[event.category],
            type=[event.type],
            outcome=event.outcome,
            action=event.action,
            reason=event.reason,
            provider=event.provider,
        ),
        message=f"{who}: {event.action} {event.target}" + (f" ({event.reason})" if event.reason else ""),
        user=compact(name=event.actor),
        source=compact(ip=str(event.source_ip) if event.source_ip is not None else None),
        client=compact(id=event.client_id),
        vigil=compact(
            audit=compact(
                target=event.target,
                trigger=event.trigger,
                added=event.added or None,
                removed=event.removed or None,
                retention_days=retention if isinstance(retention, int) and not isinstance(retention, bool) else None,
                before=_json(event.before),
                after=_json(event.after),
            )
        ),
    )
