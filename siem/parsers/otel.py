"""OpenTelemetry log records (flattened by `siem.inputs.otlp`, one JSON object each) to ECS.

Resource attributes name the service and host (`service.name`, `host.name`, `process.pid`), the scope names the
logger; trace and span ids are kept as ECS `trace.id` and `span.id`, so an exception joins its request by trace id.
A record carrying the semantic-convention `exception.*` attributes is an `exception` event; any other an `otel`
event. Every attribute stays searchable as `vigil.otel.resource`, `vigil.otel.attributes` (flattened fields).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from siem.errors import ParseError
from siem.parsers.records import compact, document, load_object

# OTLP SeverityNumber ranges (1-4 TRACE ... 21-24 FATAL), by their first number.
_SEVERITY_NAMES = ((21, "fatal"), (17, "error"), (13, "warn"), (9, "info"), (5, "debug"), (1, "trace"))
_MAX_NANOS = 253_402_300_799 * 1_000_000_000  # 9999-12-31T23:59:59Z


def severity_name(number: int) -> str | None:
    return next((name for first, name in _SEVERITY_NAMES if number >= first), None)


def _time(nanos: Any) -> datetime | None:
    if not isinstance(nanos, int) or isinstance(nanos, bool) or not 0 < nanos <= _MAX_NANOS:
        return None
    return datetime.fromtimestamp(nanos // 1_000_000_000, UTC).replace(microsecond=nanos % 1_000_000_000 // 1000)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_otel(record: str) -> dict[str, Any]:
    obj = load_object(record, "otel")
    resource, attrs, scope = _object(obj.get("resource")), _object(obj.get("attributes")), _object(obj.get("scope"))
    number = obj.get("severity_number")
    number = number if isinstance(number, int) and not isinstance(number, bool) and 0 <= number <= 24 else 0
    level = obj.get("severity_text") or severity_name(number)
    pid = resource.get("process.pid")
    error = compact(
        type=_text(attrs.get("exception.type")),
        message=_text(attrs.get("exception.message")),
        stack_trace=_text(attrs.get("exception.stacktrace")),
    )
    if error is not None and "type" not in error:
        raise ParseError("otel record has exception attributes but no exception.type")
    return document(
        _time(obj.get("time_unix_nano")) or _time(obj.get("observed_time_unix_nano")),
        event=compact(kind="event", dataset="exception" if error else "otel", severity=number or None),
        message=_text(obj.get("body")),
        error=error,
        log=compact(level=level.lower() if isinstance(level, str) else None, logger=_text(scope.get("name"))),
        service=compact(name=_text(resource.get("service.name"))),
        host=compact(hostname=_text(resource.get("host.name"))),
        process=compact(pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None),
        trace=compact(id=obj.get("trace_id")),
        span=compact(id=obj.get("span_id")),
        vigil=compact(
            otel=compact(
                resource=resource or None,
                attributes=attrs or None,
                scope=compact(name=_text(scope.get("name")), version=_text(scope.get("version"))),
                event_name=obj.get("event_name") or None,
            )
        ),
    )
