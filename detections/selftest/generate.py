"""A matching event for a Sigma rule, where its values allow one, as a record siem ingests.

The condition is expanded into alternatives (a bounded DNF); for each, the positive literals are combined per
field into one concrete value (globs collapsed, prefixes first, suffixes last), defaults fill what siem needs,
and the resulting ECS view is checked against the whole rule with the local matcher before it is returned.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import SigmaExists, SigmaNull, SigmaNumber, SigmaRegularExpression, SigmaString, SpecialChars

from detections.catalog.regex import UnsafeRegexError, regex_example
from detections.conversion.ecs import dataset_for
from detections.selftest.match import Doc, Unsupported, matches

MAX_TERMS = 64
Literal_ = tuple[str | None, Any, bool]  # field (None: keyword), value, positive

#: Sigma webserver field -> key of siem's lograge JSON access record.
ACCESS_KEYS = {
    "cs-method": "method",
    "sc-status": "status",
    "c-ip": "remote_ip",
    "cs-user-agent": "user_agent",
    "cs-referer": "referer",
    "cs-host": "host",
    "cs-username": "user",
    "sc-bytes": "bytes",
}
URL_FIELDS = {"cs-uri-query", "cs-uri", None}


@dataclass(frozen=True)
class Sample:
    """One record for siem: its format name and JSON object (stamped with a time when sent)."""

    format: str
    record: dict[str, Any]

    def line(self, at: datetime, **extra: Any) -> str:
        return json.dumps({**self.record, "@timestamp": at.isoformat(), **extra})


def _terms(node: Any, positive: bool = True) -> Iterator[list[Literal_]]:
    if isinstance(node, ConditionNOT):
        yield from _terms(node.args[0], not positive)
    elif isinstance(node, ConditionAND | ConditionOR):
        conjunctive = isinstance(node, ConditionAND) == positive
        if conjunctive:
            product = itertools.product(*(list(itertools.islice(_terms(a, positive), MAX_TERMS)) for a in node.args))
            for combo in itertools.islice(product, MAX_TERMS):
                yield [lit for term in combo for lit in term]
        else:
            for arg in node.args:
                yield from _terms(arg, positive)
    elif isinstance(node, ConditionFieldEqualsValueExpression):
        yield [(node.field, node.value, positive)]
    elif isinstance(node, ConditionValueExpression):
        yield [(None, node.value, positive)]
    else:
        raise Unsupported(f"condition node {type(node).__name__}")


def _literal_text(value: SigmaString) -> str:
    return "".join(p if isinstance(p, str) else ("x" if p is SpecialChars.WILDCARD_SINGLE else "") for p in value.s)


def _combine(values: list[Any]) -> Any:
    """One value satisfying every positive pattern of a field, or raise Unsupported."""
    numbers = [v for v in values if isinstance(v, SigmaNumber)]
    if numbers:
        return numbers[0].number
    exact, starts, middles, ends = [], [], [], []
    for value in values:
        if isinstance(value, SigmaRegularExpression):
            try:
                exact.append(regex_example(value.regexp.to_plain()))
            except UnsafeRegexError as exc:
                raise Unsupported(str(exc)) from None
        elif isinstance(value, SigmaExists | SigmaNull):
            continue
        elif isinstance(value, SigmaString):
            head = value.startswith(SpecialChars.WILDCARD_MULTI)
            tail = value.endswith(SpecialChars.WILDCARD_MULTI)
            text = _literal_text(value)
            if not head and not tail:
                exact.append(text)
            elif not head:
                starts.append(text)
            elif not tail:
                ends.append(text)
            else:
                middles.append(text)
        else:
            raise Unsupported(f"value type {type(value).__name__}")
    if exact:
        return exact[0]
    return "".join(starts[:1]) + " ".join(middles) + "".join(ends[:1])


def _access(fields: dict[str | None, Any]) -> Doc:
    url = fields.get("cs-uri-query")
    stem = fields.get("cs-uri-stem")
    if stem is not None and url is not None:
        target = f"{stem}?{url}" if not str(url).startswith(str(stem)) else str(url)
    else:
        target = str(url if url is not None else stem if stem is not None else "/")
    record: Doc = {"method": "GET", "status": 200, "path": target, "remote_ip": "198.51.100.7"}
    for field, key in ACCESS_KEYS.items():
        if field in fields:
            record[key] = fields[field]
    if isinstance(record.get("status"), str):
        record["status"] = int(record["status"]) if record["status"].isdigit() else 200
    return record


def _ecs_access(record: Doc) -> Doc:
    """The ECS document siem makes of the lograge record (the parts rules read)."""
    target = str(record["path"])
    path, _, query = target.partition("?")
    return {
        "http": {
            "request": {"method": record.get("method"), "referrer": record.get("referer")},
            "response": {"status_code": record.get("status"), "body": {"bytes": record.get("bytes")}},
        },
        "url": {"original": target, "path": path, "query": query or None, "domain": record.get("host")},
        "user_agent": {"original": record.get("user_agent")},
        "user": {"name": record.get("user")},
        "source": {"ip": record.get("remote_ip")},
    }


def _exception(fields: dict[str | None, Any]) -> tuple[Doc, Doc]:
    message = str(fields.get(None, "generated"))
    record = {"error": {"type": "GeneratedError", "message": message}, "level": "error", "service": "corpus"}
    ecs = {"error": {"type": "GeneratedError", "message": message}, "message": message}
    return record, ecs


def _as_contains(value: Any) -> Any:
    if isinstance(value, SigmaString):
        if not value.startswith(SpecialChars.WILDCARD_MULTI):
            value = SpecialChars.WILDCARD_MULTI + value
        if not value.endswith(SpecialChars.WILDCARD_MULTI):
            value = value + SpecialChars.WILDCARD_MULTI
    return value


def _candidate(term: list[Literal_], dataset: str) -> tuple[Doc, Doc]:
    positives: dict[str | None, list[Any]] = {}
    present: set[str | None] = set()
    for field, value, positive in term:
        if isinstance(value, SigmaNull):
            if not positive:  # `not field: null` means the field must be there
                present.add(field)
            continue
        if positive:
            if field is None:
                value = _as_contains(value)
            if dataset == "access" and field in URL_FIELDS:
                field = "cs-uri-query"  # all of them read url.original
            positives.setdefault(field, []).append(value)
    fields = {field: _combine(values) for field, values in positives.items()}
    for field in present:
        fields.setdefault(field, "present")
    if dataset == "access":
        unknown = [f for f in fields if f not in ACCESS_KEYS and f not in URL_FIELDS and f != "cs-uri-stem"]
        if unknown:
            raise Unsupported(f"no access record field for {unknown[0]}")
        record = _access(fields)
        return record, _ecs_access(record)
    if any(f is not None for f in fields):
        raise Unsupported("field conditions on application logs are not generated")
    return _exception(fields)


def generate(rule: SigmaRule) -> Sample:
    """A record that makes `rule` match, or `Unsupported` with the reason."""
    dataset = dataset_for(rule.logsource)
    if dataset not in ("access", "exception"):
        raise Unsupported("only webserver and application rules are generated")
    try:
        conditions = [c.parsed for c in rule.detection.parsed_condition]
    except SigmaError as exc:
        raise Unsupported(f"condition does not parse: {exc}") from None
    last: Exception | None = None
    for condition in conditions:
        for term in itertools.islice(_terms(condition), MAX_TERMS):
            try:
                record, ecs = _candidate(term, dataset)
                if matches(condition, ecs, dataset):
                    fmt = "json" if dataset == "access" else "exception"
                    return Sample(fmt, record)
            except Unsupported as exc:
                last = exc
    raise Unsupported(str(last) if last else "no alternative of the condition can be satisfied by one event")
