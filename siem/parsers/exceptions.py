"""Application exceptions: the JSON exception format (Rails and Python) and raw Python tracebacks.

The JSON exception format, documented in docs/siem.md, is one object per exception:
`{"@timestamp", "service", "level", "request_id", "id", "error": {"type", "message", "stack_trace" | "backtrace"}}`,
optionally with the request it happened in: `remote_ip`, `method`, `path`.
Rails error subscribers often log flat objects (`exception`/`class`, `message`, `backtrace`), and many loggers nest
the exception as `exception: {"class", "message", "backtrace"}`: those are read too. A field of the wrong type is
refused naming the input field (`exception.class`), never the ECS field it would have become.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from siem.errors import ParseError
from siem.parsers.records import compact, document, first, load_object, producer_id

TRACEBACK_HEAD = "Traceback (most recent call last):"
_CHAIN_LINES = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
# `2024-05-01 12:00:00,123 ERROR [billing] message` or ISO 8601 at the start of the first line.
_LOG_PREFIX = re.compile(
    r"(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+"
    r"(?:(?P<level>[A-Z]+)\s+)?(?:\[(?P<service>[^\]]+)\]\s+)?(?P<message>.*)"
)
_EXCEPTION_LINE = re.compile(r"(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?")


def _object(obj: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = obj.get(key)
    return value if isinstance(value, dict) else None


def _pick(sources: list[tuple[str, dict[str, Any] | None]], *keys: str) -> tuple[Any, str]:
    """The first present value of `keys` across `(prefix, object)` sources, with its input field name."""
    for prefix, source in sources:
        if source is None:
            continue
        for key in keys:
            value = source.get(key)
            if value is not None:
                return value, f"{prefix}{key}"
    return None, ""


def _text(value: Any, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ParseError(f"exception record field {field} must be a string, got {type(value).__name__}")


def _trace(value: Any, field: str) -> str | None:
    if isinstance(value, list) and all(isinstance(frame, str) for frame in value):
        return "\n".join(value)
    if value is None or isinstance(value, str):
        return value
    raise ParseError(f"exception record field {field} must be a string or a list of strings")


def parse_exception_json(record: str) -> dict[str, Any]:
    obj = load_object(record, "exception")
    for key in ("error", "exception"):
        if key in obj and not isinstance(obj[key], dict | str | None):
            raise ParseError(f"exception record field {key} must be an object, got {type(obj[key]).__name__}")
    error, nested = _object(obj, "error"), _object(obj, "exception")
    # Where each part may be: the documented `error` object, a nested `exception` object, then the top level.
    parts: list[tuple[str, dict[str, Any] | None]] = [("error.", error), ("exception.", nested), ("", obj)]
    type_value, type_field = _pick([("error.", error), ("exception.", nested)], "type", "class")
    if type_value is None:
        flat = {k: v for k, v in obj.items() if not (k == "exception" and isinstance(v, dict))}
        type_value, type_field = _pick([("", flat)], "exception", "class", "exc_type")
    if type_value is None:
        raise ParseError(
            "exception record has no exception class: give error.type, exception.class, exception or class"
        )
    error_type = _text(type_value, type_field)
    log_message = _text(*_pick([("", obj)], "message", "exc_message"))
    message = _text(*_pick(parts[:2], "message")) or log_message
    trace = _trace(*_pick(parts, "stack_trace", "backtrace"))
    service = obj.get("service", obj.get("app"))
    if isinstance(service, dict):
        service = service.get("name")
    # the request the exception happened in, when the app logs it: detections join it with the access log on
    # client, method and path when neither carries a request id
    path = first(obj, "path", "url.path")
    return document(
        first(obj, "@timestamp", "timestamp", "time"),
        event=compact(id=producer_id(obj), kind="event", category=["web"], type=["error"]),
        message=log_message or message,
        error=compact(type=error_type, message=message, stack_trace=trace),
        log=compact(level=_text(*_pick([("", obj)], "level", "severity", "log.level")) or "error"),
        http=compact(
            request=compact(
                id=first(obj, "request_id", "http.request.id", "uuid"),
                method=first(obj, "method", "http.request.method"),
            )
        ),
        source=compact(ip=first(obj, "remote_ip", "client_ip", "source.ip")),
        url=compact(path=path.partition("?")[0]) if isinstance(path, str) else None,
        service=compact(name=_text(service, "service")),
    )


def _timestamp(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace(",", "."))
    except ValueError:
        return None


def parse_python_traceback(record: str) -> dict[str, Any]:
    """A multi-line Python traceback (joined by the reader), optionally after a logging line; JSON also works."""
    if record.startswith("{"):
        return parse_exception_json(record)
    lines = record.splitlines()
    if TRACEBACK_HEAD not in lines:
        raise ParseError("python record holds no 'Traceback (most recent call last):' block")
    last = next((line for line in reversed(lines) if line and not line[0].isspace()), "")
    match = _EXCEPTION_LINE.fullmatch(last)
    if match is None or last == TRACEBACK_HEAD:
        raise ParseError("python traceback does not end with an 'ExceptionType: message' line")
    head = _LOG_PREFIX.fullmatch(lines[0]) if lines[0] != TRACEBACK_HEAD else None
    return document(
        _timestamp(head.group("ts")) if head else None,
        event=compact(kind="event", category=["web"], type=["error"]),
        message=(head.group("message") if head else None) or match.group("message"),
        error=compact(
            type=match.group("type"),
            message=match.group("message"),
            stack_trace="\n".join(lines[lines.index(TRACEBACK_HEAD) :]),
        ),
        log=compact(level=(head.group("level") if head else None) or "ERROR"),
        service=compact(name=head.group("service") if head else None),
    )


def continues_traceback(previous: str, line: str) -> bool:
    """Whether `line` belongs to the Python record `previous` (the multi-line join of file tails)."""
    last = previous.rsplit("\n", 1)[-1]
    in_traceback = TRACEBACK_HEAD in previous
    if line == TRACEBACK_HEAD:
        # A log line announcing the error, or a chained exception, is followed by its traceback.
        return not in_traceback or last == "" or last in _CHAIN_LINES
    if not in_traceback:
        return False
    if line in _CHAIN_LINES or (line and line[0].isspace()):
        return True
    if not line:
        return last != ""
    # An unindented line right after the frames is the exception line; anywhere else it starts a new record.
    return last == TRACEBACK_HEAD or (last != "" and last[0].isspace())
