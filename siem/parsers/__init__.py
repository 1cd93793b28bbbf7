"""Parsers from raw records to ECS events, one module per source family, registered by format name.

A parser returns the ECS fields it found as a plain dict; `parse_record` adds what every event carries
(`event.id`, `event.original`, `event.ingested`, `event.dataset`) and validates the whole as `EcsDocument`, so a
wrong type anywhere becomes one `ParseError` and the record goes to the dead letter instead of to a mapping error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import ValidationError

from siem.ecs import ECS_DOCUMENT, Dataset
from siem.errors import ParseError, UnknownDatasetError
from siem.parsers.access import parse_combined, parse_lograge
from siem.parsers.audit import parse_audit
from siem.parsers.auth import parse_decision
from siem.parsers.canary import parse_canary
from siem.parsers.exceptions import parse_exception_json, parse_python_traceback
from siem.parsers.otel import parse_otel
from siem.parsers.records import Parser
from siem.parsers.syslog import parse_syslog

RecordFormat = Literal["nginx", "json", "rails", "python", "exception", "auth", "audit", "syslog", "otel", "canary"]
FORMATS: tuple[RecordFormat, ...] = get_args(RecordFormat)

PARSERS: dict[RecordFormat, tuple[Dataset, Parser]] = {
    "nginx": ("access", parse_combined),
    "json": ("access", parse_lograge),
    "rails": ("exception", parse_exception_json),
    "exception": ("exception", parse_exception_json),
    "python": ("exception", parse_python_traceback),
    "auth": ("auth", parse_decision),
    "audit": ("audit", parse_audit),
    # Its own dataset unless the message inside is an access line or an exception (the parser decides).
    "syslog": ("syslog", parse_syslog),
    # Its own dataset unless the record carries `exception.*` attributes (the parser decides).
    "otel": ("otel", parse_otel),
    "canary": ("canary", parse_canary),
}

DEFAULT_FORMAT: dict[Dataset, RecordFormat] = {
    "access": "nginx",
    "exception": "exception",
    "auth": "auth",
    "audit": "audit",
    "syslog": "syslog",
    "otel": "otel",
    "canary": "canary",
}

__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "PARSERS",
    "RecordFormat",
    "dataset_of",
    "parse_record",
    "resolve_format",
]


def resolve_format(value: str) -> RecordFormat:
    for known in FORMATS:
        if known == value:
            return known
    raise UnknownDatasetError(f"unknown record format {value!r}; use one of {', '.join(FORMATS)}")


def dataset_of(fmt: RecordFormat) -> Dataset:
    return PARSERS[fmt][0]


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "record"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def parse_record(
    fmt: RecordFormat, record: str, *, event_id: str, received: datetime, sender: str | None = None
) -> dict[str, Any]:
    """Parse one record into a validated ECS document (see `siem.ecs.EcsDocument`) or raise `ParseError`.

    `received` (when the record was queued) is both `event.ingested` and the fallback `@timestamp`: it is fixed
    at enqueue time, so a redelivered record lands in the same daily index with the same `_id`. `sender` (the
    principal that queued it) becomes `vigil.ingest.client`, replacing anything the record itself claims.
    """
    dataset, parser = PARSERS[fmt]
    if fmt == "nginx" and record.startswith("{"):
        # One access endpoint takes both nginx and lograge lines; JSON is never a valid combined line.
        parser = parse_lograge
    fields = parser(record)
    event = fields.setdefault("event", {})
    if not isinstance(event, dict):
        raise ParseError(f"{fmt} record has a wrong field: event must be an object")
    event.setdefault("id", event_id)
    # Only the syslog and otel parsers name a dataset themselves (from what the record carries); others never copy
    # one in from the record.
    event.setdefault("dataset", dataset)
    event.update(original=record, ingested=received)
    fields.setdefault("@timestamp", received)
    if sender is not None:
        vigil = fields.setdefault("vigil", {})
        if isinstance(vigil, dict):
            vigil["ingest"] = {"client": sender}
    try:
        return ECS_DOCUMENT.validate_python(fields)
    except ValidationError as exc:
        raise ParseError(f"{fmt} record has a wrong field: {_describe(exc)}") from None
