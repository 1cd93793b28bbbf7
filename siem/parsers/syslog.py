"""Syslog messages: RFC 5424 and the BSD format RFC 3164 describes, to ECS `log.syslog.*`, `host.*`, `process.*`.

A record is one message without its transport framing (`siem.inputs.syslog` removes RFC 6587 framing). What a
message carries is parsed as what it is: an nginx combined line becomes an `access` event and a JSON exception an
`exception` event, both keeping the syslog fields; anything else is a `syslog` event. The parser sets
`event.dataset` itself for that reason, the only parser that does.

RFC 3164 timestamps have no year and no zone: they are read as UTC in the current year (the previous one when that
would put them more than a day in the future, i.e. a December message read in January). Forwarders that can
send RFC 3339 timestamps (rsyslog's `RSYSLOG_ForwardFormat`, any RFC 5424 sender) avoid the guess.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from siem.errors import ParseError
from siem.parsers.access import parse_combined, parse_lograge
from siem.parsers.exceptions import parse_exception_json
from siem.parsers.records import compact

FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp",
    "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7",
)  # fmt: skip
SEVERITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug")
_BOM = "\ufeff"
_PRI = re.compile(r"<(\d{1,3})>")
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})", re.ASCII)
_BSD_TIME = re.compile(r"([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2})", re.ASCII)
_MONTHS = {m: n for n, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"), 1)}  # fmt: skip
# `TAG[PID]: ` or `TAG: ` at the start of an RFC 3164 message; the tag is at most 48 printable characters.
_TAG = re.compile(r"([^\s\[\]:]{1,48})(?:\[([^\]\s]{1,32})\])?: ?")
_SD_PARAM = re.compile(r' ([^\s="\]]{1,32})="((?:[^"\\\]]|\\["\\\]])*)"')
_SD_ID = re.compile(r"\[([^\s=\]\"]{1,32})")
_UNESCAPE = re.compile(r"\\([\"\\\]])")
_NIL = "-"


def _pri(record: str) -> tuple[int, int]:
    match = _PRI.match(record)
    if match is None:
        raise ParseError("syslog message does not start with <PRI>")
    value = int(match.group(1))
    if value > 191:
        raise ParseError(f"syslog PRI {value} is out of range (0-191)")
    return value, match.end()


def _rfc3339(value: str) -> datetime:
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise ParseError(f"syslog timestamp {value[:40]!r} is not RFC 3339")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    offset = timedelta(0) if zone == "Z" else timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=UTC)
    except ValueError as exc:
        raise ParseError(f"syslog timestamp {value[:40]!r}: {exc}") from None
    return moment - offset if zone[0] != "-" else moment + offset


def _bsd_time(value: str, now: datetime) -> datetime:
    match = _BSD_TIME.fullmatch(value)
    month = _MONTHS.get(match.group(1)) if match else None
    if match is None or month is None:
        raise ParseError(f"syslog timestamp {value!r} is not 'Mmm dd hh:mm:ss'")
    _, day, hour, minute, second = match.groups()
    for year in (now.year, now.year - 1):
        try:
            moment = datetime(year, month, int(day), int(hour), int(minute), int(second), tzinfo=UTC)
        except ValueError as exc:
            if year == now.year - 1:
                raise ParseError(f"syslog timestamp {value!r}: {exc}") from None
            continue
        if moment <= now + timedelta(days=1):
            return moment
    raise ParseError(f"syslog timestamp {value!r} cannot be placed in a year")


def _structured_data(text: str) -> tuple[dict[str, dict[str, str]] | None, str]:
    """RFC 5424 STRUCTURED-DATA (`-` or `[id k="v" ...]...`), and the text after it."""
    if text.startswith(_NIL):
        return None, text[1:]
    elements: dict[str, dict[str, str]] = {}
    position = 0
    while position < len(text) and text[position] == "[":
        head = _SD_ID.match(text, position)
        if head is None:
            raise ParseError("syslog STRUCTURED-DATA element has no valid SD-ID")
        params: dict[str, str] = {}
        position = head.end()
        while (param := _SD_PARAM.match(text, position)) is not None:
            params[param.group(1)] = _UNESCAPE.sub(r"\1", param.group(2))
            position = param.end()
        if position >= len(text) or text[position] != "]":
            raise ParseError("syslog STRUCTURED-DATA element is not closed by ']'")
        elements[head.group(1)] = params
        position += 1
    if not elements:
        raise ParseError("syslog STRUCTURED-DATA is neither '-' nor '[...]'")
    return elements, text[position:]


def _nil(value: str) -> str | None:
    return None if value == _NIL else value


def _rfc5424(record: str, pri: int, start: int) -> dict[str, Any]:
    # VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]
    parts = record[start:].split(" ", 6)
    if len(parts) < 7:
        raise ParseError("RFC 5424 message has fewer than the seven header fields")
    version, timestamp, hostname, appname, procid, msgid, rest = parts
    data, after = _structured_data(rest)
    if after and not after.startswith(" "):
        raise ParseError("RFC 5424 STRUCTURED-DATA is not followed by a space")
    return {
        "version": version,
        "timestamp": None if timestamp == _NIL else _rfc3339(timestamp),
        "hostname": _nil(hostname),
        "appname": _nil(appname),
        "procid": _nil(procid),
        "msgid": _nil(msgid),
        "structured_data": data,
        "message": after[1:].removeprefix(_BOM),
        "pri": pri,
    }


def _rfc3164(record: str, pri: int, start: int, now: datetime) -> dict[str, Any]:
    rest = record[start:]
    timestamp: datetime | None = None
    stamp = rest.split(" ", 1)[0]
    if _RFC3339.fullmatch(stamp):
        timestamp, rest = _rfc3339(stamp), rest[len(stamp) + 1 :]
    elif _BSD_TIME.match(rest):
        timestamp, rest = _bsd_time(rest[:15], now), rest[16:]
    hostname = None
    first, _, after = rest.partition(" ")
    # A first word that is itself a tag (`sshd[42]:`, `app:`) means the sender left the hostname out.
    if after and not _TAG.fullmatch(first + " ") and not first.endswith(":"):
        hostname, rest = first, after
    tag = _TAG.match(rest)
    appname = procid = None
    if tag is not None:
        appname, procid, rest = tag.group(1), tag.group(2), rest[tag.end() :]
    return {
        "timestamp": timestamp,
        "hostname": hostname,
        "appname": appname,
        "procid": procid,
        "message": rest,
        "pri": pri,
    }


def read_syslog(record: str, now: datetime | None = None) -> dict[str, Any]:
    """The header fields and message of one syslog message (RFC 5424 when a version follows PRI, else 3164)."""
    pri, start = _pri(record)
    if record[start : start + 2] == "1 ":
        return _rfc5424(record, pri, start)
    return _rfc3164(record, pri, start, now or datetime.now(UTC))


def _inner(message: str) -> dict[str, Any] | None:
    """The document of an nginx line or a JSON exception (or lograge line) carried inside syslog, if it is one."""
    text = message.strip()
    try:
        if text.startswith("{"):
            try:
                document = parse_exception_json(text)
                dataset = "exception"
            except ParseError:
                document, dataset = parse_lograge(text), "access"
        else:
            document, dataset = parse_combined(text), "access"
    except ParseError:
        return None
    document.setdefault("event", {})["dataset"] = dataset
    return document


def parse_syslog(record: str) -> dict[str, Any]:
    fields = read_syslog(record)
    pri: int = fields["pri"]
    facility, severity = pri >> 3, pri & 7
    procid = fields["procid"]
    syslog = compact(
        priority=pri,
        facility={"code": facility, "name": FACILITIES[facility]},
        severity={"code": severity, "name": SEVERITIES[severity]},
        hostname=fields["hostname"],
        appname=fields["appname"],
        procid=procid,
        msgid=fields.get("msgid"),
        version=fields.get("version"),
        structured_data=fields.get("structured_data"),
    )
    message: str = fields["message"]
    document = _inner(message) or {
        "event": {"kind": "event", "dataset": "syslog"},
        "message": message,
        "log": {"level": SEVERITIES[severity]},
    }
    document.setdefault("log", {})["syslog"] = syslog
    if fields["timestamp"] is not None:
        document.setdefault("@timestamp", fields["timestamp"])
    if fields["hostname"] is not None:
        document["host"] = {"hostname": fields["hostname"]}
    pid = int(procid) if procid and procid.isascii() and procid.isdigit() and len(procid) <= 9 else None
    process = compact(name=fields["appname"], pid=pid)
    if process is not None:
        document["process"] = process
    return document
