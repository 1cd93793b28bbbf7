"""Application exceptions: the JSON exception format (Rails and Python) and raw Python tracebacks.

The JSON exception format, documented in docs/siem.md, is one object per exception:
`{"@timestamp", "service", "level", "request_id", "id", "error": {"type", "message", "stack_trace" | "backtrace"}}`,
optionally with the request it happened in: `remote_ip`, `method`, `path`.
Rails error subscribers often log flat objects (`exception`/`class`, `message`, `backtrace`): those are read too.
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


def _stack_trace(error: dict[str, Any], obj: dict[str, Any]) -> Any:
    trace = first(error, "stack_trace", "backtrace") if error else None
    trace = trace if trace is not None else first(obj, "stack_trace", "backtrace")
    if isinstance(trace, list) and all(isinstance(frame, str) for frame in trace):
        return "\n".join(trace)
    return trace


def parse_exception_json(record: str) -> dict[str, Any]:
    obj = load_object(record, "exception")
    error = obj.get("error")
    if error is not None and not isinstance(error, dict):
        raise ParseError("exception record: error must be an object")
    error = error or {}
    error_type = first(error, "type", "class") or first(obj, "exception", "class", "exc_type")
    if error_type is None:
        raise ParseError("exception record needs error.type (or exception/class)")
    log_message = first(obj, "message", "exc_message")
    message = first(error, "message") if error else None
    message = message if message is not None else log_message
    service = first(obj, "service", "app")
    if isinstance(service, dict):
        service = service.get("name")
    # the request the exception happened in, when the app logs it: detections join it with the access log on
    # client, method and path when neither carries a request id
    path = first(obj, "path", "url.path")
    return document(
        first(obj, "@timestamp", "timestamp", "time"),
        event=compact(id=producer_id(obj), kind="event", category=["web"], type=["error"]),
        message=log_message if isinstance(log_message, str) else message if isinstance(message, str) else None,
        error=compact(type=error_type, message=message, stack_trace=_stack_trace(error, obj)),
        log=compact(level=first(obj, "level", "severity", "log.level") or "error"),
        http=compact(
            request=compact(
                id=first(obj, "request_id", "http.request.id", "uuid"),
                method=first(obj, "method", "http.request.method"),
            )
        ),
        source=compact(ip=first(obj, "remote_ip", "client_ip", "source.ip")),
        url=compact(path=path.partition("?")[0]) if isinstance(path, str) else None,
        service=compact(name=service),
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
