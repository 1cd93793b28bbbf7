"""This package's audit actions as edgeauth `AuditEvent`s: what a rule switch, an exception or a search is called
in the SIEM's `audit` dataset. An exception is a filter that suppresses matches, so adding one loosens the rule."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from edgeauth import AuditCategory, AuditEvent, AuditType, AuditValue

#: detections' own action name -> (ECS `event.action`, category, type)
ACTIONS: dict[str, tuple[str, AuditCategory, AuditType]] = {
    "enable": ("rule-enabled", "configuration", "change"),
    "disable": ("rule-disabled", "configuration", "change"),
    "exception_add": ("rule-loosened", "configuration", "change"),
    "exception_delete": ("rule-exception-removed", "configuration", "change"),
    "event_search": ("events-searched", "file", "access"),
    "event_export": ("events-exported", "file", "access"),
}


def _value(value: Any) -> AuditValue:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return json.dumps(value, sort_keys=True, default=str)


def audit_event(
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any],
    at: datetime,
    *,
    before: dict[str, AuditValue] | None = None,
    after: dict[str, AuditValue] | None = None,
) -> AuditEvent:
    name, category, kind = ACTIONS.get(action, (action.replace("_", "-"), "configuration", "change"))
    refused = detail.get("refused")
    return AuditEvent(
        timestamp=at,
        provider="detections",
        action=name,
        category=category,
        type="denied" if refused else kind,
        outcome="failure" if refused else "success",
        actor=actor,
        target=target if target == "events" else f"rule:{target}",
        reason=str(detail["reason"]) if detail.get("reason") else None,
        before=before,
        after=after if after is not None else {key: _value(value) for key, value in detail.items()},
    )
