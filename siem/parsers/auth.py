"""edgeauth decision events (one JSON object per verification, token, revocation or introspection)."""

from __future__ import annotations

from typing import Any

from siem.errors import ParseError
from siem.parsers.records import compact, document, first, load_object, producer_id

_NS_PER_US = 1000


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def parse_decision(record: str) -> dict[str, Any]:
    obj = load_object(record, "auth")
    outcome = first(obj, "outcome")
    if outcome not in ("success", "failure"):
        raise ParseError(f"auth decision outcome must be 'success' or 'failure', got {outcome!r}")
    scopes = first(obj, "scopes")
    if isinstance(scopes, str):
        scopes = scopes.split()
    latency = first(obj, "latency_us")
    if latency is not None and (isinstance(latency, bool) or not isinstance(latency, int | float)):
        raise ParseError(f"auth decision latency_us must be a number, got {latency!r}")
    action = first(obj, "action") or "verify"
    reason = first(obj, "reason")
    return document(
        first(obj, "timestamp", "@timestamp"),
        event=compact(
            id=producer_id(obj),
            kind="event",
            category=["authentication"],
            type=["start"] if action == "token" else ["info"],
            outcome=outcome,
            action=action,
            reason=reason,
            duration=int(latency * _NS_PER_US) if latency is not None else None,
        ),
        message=f"{action} {outcome}" + (f": {reason}" if isinstance(reason, str) else ""),
        source=compact(ip=first(obj, "source_ip")),
        http=compact(request=compact(method=first(obj, "method"), id=first(obj, "request_id"))),
        url=compact(path=first(obj, "path")),
        user=compact(name=first(obj, "subject")),
        vigil=compact(
            auth=compact(
                client_id=first(obj, "client_id"),
                scopes=sorted(scopes)
                if isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)
                else scopes,
                jti=first(obj, "jti"),
                kid=first(obj, "kid"),
                alg=first(obj, "alg"),
            )
        ),
    )
