"""The pySigma processing pipeline from Sigma's log-source fields onto Vigil's ECS indices.

Sigma string matching is case-insensitive, Lucene on `keyword` fields is not: every string field is sent to
its `<field>.caseless` multi-field (keyword with the built-in `lowercase` normalizer) and every string or
regular-expression value is lower-cased here, so the semantics hold whatever the normalizer does to wildcard
terms. A `|cased` value goes to the raw keyword field unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sigma.exceptions import SigmaTransformationError
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.processing.transformations.fields import FieldMappingTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaLogSource
from sigma.types import SigmaCasedString, SigmaRegularExpression, SigmaRegularExpressionFlag, SigmaString

from siem import DATASETS, Dataset

FieldKind = Literal["keyword", "long", "ip", "date", "text"]
CASELESS = ".caseless"

#: The ECS fields of siem's index templates that rules may match on, with their Elasticsearch type. A rule
#: field outside this table cannot match anything in Vigil, so its rule is reported instead of run.
ECS_FIELDS: dict[str, FieldKind] = {
    "@timestamp": "date",
    "event.ingested": "date",
    "event.duration": "long",
    "http.response.status_code": "long",
    "http.response.body.bytes": "long",
    "source.ip": "ip",
    "vigil.audit.retention_days": "long",
    **dict.fromkeys(
        (
            "event.dataset",
            "event.kind",
            "event.category",
            "event.outcome",
            "event.type",
            "event.action",
            "event.reason",
            "service.name",
            "http.request.id",
            "http.request.method",
            "http.request.referrer",
            "url.original",
            "url.path",
            "url.query",
            "url.domain",
            "user_agent.original",
            "user.name",
            "vigil.rails.controller",
            "vigil.rails.action",
            "error.type",
            "error.message",
            "error.stack_trace",
            "log.level",
            "vigil.auth.client_id",
            "vigil.auth.scopes",
            "vigil.auth.jti",
            "vigil.auth.kid",
            "vigil.auth.alg",
            "event.provider",
            "client.id",
            "vigil.audit.target",
            "vigil.audit.trigger",
            "vigil.audit.added",
            "vigil.audit.removed",
            "vigil.ingest.client",
            "message",
        ),
        "keyword",
    ),
}

#: W3C/IIS field names of Sigma's `category: webserver` and their ECS targets. SigmaHQ uses `cs-uri-query`
#: for the whole request target (path and query), so it maps to `url.original`.
WEBSERVER_FIELDS: dict[str, str] = {
    "cs-method": "http.request.method",
    "cs-uri-stem": "url.path",
    "cs-uri-query": "url.original",
    "cs-uri": "url.original",
    "sc-status": "http.response.status_code",
    "c-ip": "source.ip",
    "cs-user-agent": "user_agent.original",
    "cs-referer": "http.request.referrer",
    "cs-host": "url.domain",
    "cs-username": "user.name",
    "sc-bytes": "http.response.body.bytes",
    "time-taken": "event.duration",
}

#: Where a field-less keyword of each dataset is searched (Sigma keywords match anywhere in the event).
KEYWORD_FIELDS: dict[str, list[str]] = {
    "access": ["url.original", "user_agent.original", "http.request.referrer"],
    "exception": ["error.type", "error.message", "error.stack_trace", "message"],
    "auth": ["event.reason", "url.path", "user.name", "vigil.auth.client_id"],
    "audit": ["event.action", "event.reason", "user.name", "client.id", "vigil.audit.target"],
}


def dataset_for(logsource: SigmaLogSource) -> Dataset | None:
    """siem's dataset a rule's log source reads (names from siem's `Dataset`, checked by mypy)."""
    if logsource.category == "webserver":
        return "access"
    if logsource.category == "application":
        return "exception"
    if logsource.product == "vigil":
        return next((d for d in DATASETS if d == logsource.service and d in KEYWORD_FIELDS), None)
    return None


def map_field(field: str, dataset: str) -> str:
    """The ECS field a rule field (Sigma or ECS name) reads in `dataset`; raises `KeyError` if none."""
    ecs = WEBSERVER_FIELDS.get(field, field) if dataset == "access" else field
    if ecs not in ECS_FIELDS:
        raise KeyError(field)
    return ecs


def caseless(field: str) -> str:
    return field + CASELESS if ECS_FIELDS.get(field) == "keyword" else field


_REGEX_ESCAPE = re.compile(r"\\.|[^\\]+", re.DOTALL)


def lower_regex(pattern: str) -> str:
    """Lower-case the literal characters of a regex, leaving escapes (`\\W`, `\\S`, `\\D`) as written."""
    return "".join(p if p.startswith("\\") else p.lower() for p in _REGEX_ESCAPE.findall(pattern))


@dataclass
class CaselessValuesTransformation(DetectionItemTransformation):
    """Send string matches to `.caseless` with lower-cased values; refuse fields Vigil does not index."""

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetection | SigmaDetectionItem | None:
        field = detection_item.field
        if field is None:
            return None
        raw = field.removesuffix(CASELESS) if field.endswith(CASELESS) else field
        if raw not in ECS_FIELDS:
            raise SigmaTransformationError(f"field '{field}' has no ECS mapping in Vigil's indices")
        if ECS_FIELDS[raw] != "keyword":
            detection_item.field = raw
            return None
        values: list[Any] = []
        cased = False
        for value in detection_item.value:
            if isinstance(value, SigmaCasedString):
                # the raw keyword field is case-sensitive already; the backend only knows plain strings
                cased = True
                plain = SigmaString("")
                plain.s = list(value.s)
                values.append(plain)
            elif isinstance(value, SigmaString):
                values.append(value.lower())
            elif isinstance(value, SigmaRegularExpression):
                flags = set(value.flags) - {SigmaRegularExpressionFlag.IGNORECASE}
                values.append(SigmaRegularExpression(lower_regex(value.regexp.to_plain()), flags))
            else:
                values.append(value)
        detection_item.value = values
        detection_item.field = raw if cased else raw + CASELESS
        return None


def _ecs_identity(dataset: str) -> dict[str | None, str | list[str]]:
    mapping: dict[str | None, str | list[str]] = {name: caseless(name) for name in ECS_FIELDS}
    mapping[None] = [caseless(name) for name in KEYWORD_FIELDS[dataset]]
    return mapping


def vigil_ecs_pipeline() -> ProcessingPipeline:
    """The pipeline the Lucene backend runs before conversion."""
    webserver: dict[str | None, str | list[str]] = {k: caseless(v) for k, v in WEBSERVER_FIELDS.items()}
    webserver[None] = [caseless(name) for name in KEYWORD_FIELDS["access"]]
    items = [
        ProcessingItem(
            identifier="vigil_webserver_fields",
            transformation=FieldMappingTransformation(webserver),
            rule_conditions=[LogsourceCondition(category="webserver")],
        ),
        ProcessingItem(
            identifier="vigil_application_keywords",
            transformation=FieldMappingTransformation(_ecs_identity("exception")),
            rule_conditions=[LogsourceCondition(category="application")],
        ),
        *(
            ProcessingItem(
                identifier=f"vigil_{service}_fields",
                transformation=FieldMappingTransformation(_ecs_identity(service)),
                rule_conditions=[LogsourceCondition(product="vigil", service=service)],
            )
            for service in KEYWORD_FIELDS
        ),
        ProcessingItem(identifier="vigil_caseless_values", transformation=CaselessValuesTransformation()),
    ]
    return ProcessingPipeline(name="Vigil ECS", priority=20, items=items)
