"""Access logs: the nginx/Apache "combined" format and lograge-style JSON from Rails."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from siem.errors import ParseError
from siem.parsers.records import compact, document, first, load_object, producer_id

# `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`
# followed by optional `key=value` extras (rt=, rid=, host=) that many deployments append.
_COMBINED = re.compile(
    r'(?P<ip>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" '
    r'(?P<status>\d{3}) (?P<bytes>\d+|-)(?: "(?P<referrer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?'
    r"(?P<rest>.*)"
)
_EXTRA = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_TIME_LOCAL = re.compile(r"(\d{2})/(\w{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})")
_SECOND_NS = 1_000_000_000


@functools.lru_cache(maxsize=4096)
def parse_time_local(value: str) -> datetime:
    """`10/Oct/2000:13:55:36 -0700`, without strptime's locale lookups on the hot path. Cached: an access log
    repeats each second's stamp for every request in it (the datetime is immutable; errors are not cached)."""
    match = _TIME_LOCAL.fullmatch(value)
    month = _MONTHS.get(match.group(2)) if match else None
    if match is None or month is None:
        raise ParseError(f"combined log time {value!r} is not dd/Mon/yyyy:HH:MM:SS +zzzz")
    day, _, year, hour, minute, second, sign, off_h, off_m = match.groups()
    offset = timedelta(hours=int(off_h), minutes=int(off_m))
    try:
        return datetime(
            int(year), month, int(day), int(hour), int(minute), int(second),
            tzinfo=timezone(-offset if sign == "-" else offset),
        )  # fmt: skip
    except ValueError as exc:
        raise ParseError(f"combined log time {value!r}: {exc}") from None


def _request_time_ns(value: str) -> int:
    """nginx `$request_time` (seconds with milliseconds) in nanoseconds, exactly: a float would make 1.001 s
    1000999999 ns."""
    try:
        seconds = Decimal(value)
    except InvalidOperation:
        seconds = Decimal("NaN")
    # a day bounds any real request and keeps the nanoseconds inside Elasticsearch's `long`
    if not seconds.is_finite() or not 0 <= seconds <= 86_400:
        raise ParseError(f"request time rt={value!r} is not a number of seconds up to a day")
    return int(seconds * _SECOND_NS)


def _dash(value: str | None) -> str | None:
    return None if value in (None, "", "-") else value


def _url(target: str | None) -> dict[str, Any] | None:
    if not target:
        return None
    path, _, query = target.partition("?")
    url = {"original": target, "path": path}
    if query:
        url["query"] = query
    return url


def parse_combined(record: str) -> dict[str, Any]:
    match = _COMBINED.fullmatch(record)
    if match is None:
        raise ParseError("line is not in the combined access log format")
    request = match.group("request")
    parts = request.split(" ")
    method, target = (parts[0], parts[1]) if len(parts) == 3 else (None, request or None)
    extras = {key: val.strip('"') for key, val in _EXTRA.findall(match.group("rest") or "")}
    url = _url(target)
    if url is not None and _dash(extras.get("host")):
        url["domain"] = extras["host"]
    duration = _request_time_ns(extras["rt"]) if "rt" in extras else None
    status = int(match.group("status"))
    size = match.group("bytes")
    ip = match.group("ip")
    return document(
        parse_time_local(match.group("time")),
        event=compact(
            kind="event",
            category=["web"],
            type=["access"],
            outcome="failure" if status >= 400 else "success",
            duration=duration,
        ),
        message=request,
        source={"ip": ip} if ip != "-" else None,
        http=compact(
            request=compact(
                method=method,
                referrer=_dash(match.group("referrer")),
                id=_dash(extras.get("rid") or extras.get("request_id")),
            ),
            response=compact(status_code=status, body=None if size == "-" else {"bytes": int(size)}),
        ),
        url=url,
        user_agent=compact(original=_dash(match.group("agent"))),
        user=compact(name=_dash(match.group("user"))),
    )


def _duration_ns(value: Any) -> int | None:
    """lograge reports milliseconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParseError(f"lograge duration must be a number of milliseconds, got {value!r}")
    return int(value * 1_000_000)


def _name(value: Any) -> Any:
    """Rails apps log numeric user ids; they are names to ECS."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def parse_lograge(record: str) -> dict[str, Any]:
    obj = load_object(record, "json")
    method = first(obj, "method")
    path = first(obj, "path", "url")
    status = first(obj, "status")
    if method is None or path is None or status is None:
        raise ParseError("lograge record needs method, path and status")
    timestamp = first(obj, "@timestamp", "time", "timestamp")
    url = _url(path) if isinstance(path, str) else {"original": path}
    host = first(obj, "host")
    if url is not None and host is not None:
        url["domain"] = host
    controller, action = first(obj, "controller"), first(obj, "action")
    if isinstance(controller, str) and action is None and "#" in controller:
        controller, _, action = controller.partition("#")
    outcome = None
    if isinstance(status, int) and not isinstance(status, bool):
        outcome = "failure" if status >= 400 else "success"
    if isinstance(path, str):
        split = urlsplit(path)
        if split.netloc and url is not None:
            url.update(path=split.path, domain=url.get("domain") or split.hostname)
    return document(
        timestamp,
        event=compact(
            id=producer_id(obj),
            kind="event",
            category=["web"],
            type=["access"],
            outcome=outcome,
            duration=_duration_ns(first(obj, "duration")),
        ),
        message=f"{method} {path} {status}",
        source=compact(ip=first(obj, "remote_ip", "ip", "client_ip")),
        http=compact(
            request=compact(method=method, id=first(obj, "request_id", "uuid"), referrer=first(obj, "referer")),
            response=compact(status_code=status, body=compact(bytes=first(obj, "bytes", "body_bytes"))),
        ),
        url=url,
        user_agent=compact(original=first(obj, "user_agent", "ua")),
        user=compact(name=_name(first(obj, "user", "user_name", "user_id"))),
        service=compact(name=first(obj, "service", "app")),
        vigil=compact(rails=compact(controller=controller, action=action)),
    )
