"""The Elastic Common Schema (ECS) fields siem writes, as pydantic-validated typed dicts.

Only the fields in the index templates exist here, so a parser cannot emit a field Elasticsearch would have to
guess a type for. Field names follow ECS; `vigil.*` holds what ECS has no name for.

Why TypedDicts and not BaseModels: the worker validates every event on the hot path. Building and dumping ten
nested model objects cost ~150 µs per nginx line; pydantic-core validating the same schema as dicts costs ~5 µs
and yields the JSON-ready document directly (timestamps as UTC ISO 8601, addresses normalised), so the schema
is enforced with the same pydantic validators at a fraction of the price.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Annotated, Any, Literal, cast

from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict

Dataset = Literal["access", "exception", "auth", "audit", "syslog", "otel", "canary"]
DATASETS: tuple[Dataset, ...] = ("access", "exception", "auth", "audit", "syslog", "otel", "canary")


@functools.lru_cache(maxsize=4096)
def rfc3339(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as precise as the value: the form of every timestamp Vigil indexes and shows.

    Timestamps without an offset are taken as UTC; daily indices are cut on UTC days. (Signed evidence uses its
    own fixed-width form, `evidence`'s `rfc3339`: siem and evidence know nothing of each other.) Cached: every
    event of a batch shares its `event.ingested`, and log lines share their second (equal instants in different
    offsets are equal keys, and have the same UTC text).
    """
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.isoformat().replace("+00:00", "Z")


_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)")


def _ip(value: str) -> str:
    # Canonical dotted quads (nearly every access log line) skip the costlier `ip_address` round trip.
    return value if _IPV4.fullmatch(value) else str(ip_address(value))


Timestamp = Annotated[datetime, AfterValidator(rfc3339)]
IpAddress = Annotated[str, AfterValidator(_ip)]
Count = Annotated[int, Field(ge=0)]
_STRICT = ConfigDict(extra="forbid")


@with_config(_STRICT)
class EventFields(TypedDict, total=False):
    id: str
    dataset: Dataset
    kind: Literal["event", "alert", "metric"]
    category: list[str]
    type: list[str]
    outcome: Literal["success", "failure", "unknown"]
    action: str
    reason: str
    provider: str
    duration: Count  # nanoseconds
    severity: Count
    original: str
    ingested: Timestamp


@with_config(_STRICT)
class SourceFields(TypedDict, total=False):
    ip: IpAddress


@with_config(_STRICT)
class RequestFields(TypedDict, total=False):
    id: str
    method: str
    referrer: str


@with_config(_STRICT)
class BodyFields(TypedDict, total=False):
    bytes: Count


@with_config(_STRICT)
class ResponseFields(TypedDict, total=False):
    status_code: Annotated[int, Field(ge=0, le=999)]
    body: BodyFields


@with_config(_STRICT)
class HttpFields(TypedDict, total=False):
    request: RequestFields
    response: ResponseFields


@with_config(_STRICT)
class UrlFields(TypedDict, total=False):
    original: str
    path: str
    query: str
    domain: str


@with_config(_STRICT)
class OriginalFields(TypedDict, total=False):
    original: str


@with_config(_STRICT)
class NameFields(TypedDict, total=False):
    name: str


@with_config(_STRICT)
class ErrorFields(TypedDict, total=False):
    type: str
    message: str
    stack_trace: str


@with_config(_STRICT)
class CodeFields(TypedDict, total=False):
    code: Annotated[int, Field(ge=0, le=23)]
    name: str


@with_config(_STRICT)
class SyslogFields(TypedDict, total=False):
    priority: Annotated[int, Field(ge=0, le=191)]
    facility: CodeFields
    severity: CodeFields
    hostname: str
    appname: str
    procid: str
    msgid: str
    version: str
    structured_data: dict[str, dict[str, str]]


@with_config(_STRICT)
class LogFields(TypedDict, total=False):
    level: str
    logger: str
    syslog: SyslogFields


@with_config(_STRICT)
class IdFields(TypedDict, total=False):
    id: str


@with_config(_STRICT)
class ScopeFields(TypedDict, total=False):
    name: str
    version: str


@with_config(_STRICT)
class OtelFields(TypedDict, total=False):
    resource: dict[str, Any]
    attributes: dict[str, Any]
    scope: ScopeFields
    event_name: str


@with_config(_STRICT)
class HostFields(TypedDict, total=False):
    hostname: str


@with_config(_STRICT)
class ProcessFields(TypedDict, total=False):
    name: str
    pid: Count


@with_config(_STRICT)
class RailsFields(TypedDict, total=False):
    controller: str
    action: str


@with_config(_STRICT)
class AuthFields(TypedDict, total=False):
    client_id: str
    scopes: list[str]
    jti: str
    kid: str
    alg: str


@with_config(_STRICT)
class AuditFields(TypedDict, total=False):
    target: str
    trigger: str
    added: list[str]
    removed: list[str]
    retention_days: Count
    before: str  # JSON text, for people: the searchable facts are `added`, `removed` and the fields above
    after: str


@with_config(_STRICT)
class IngestFields(TypedDict, total=False):
    client: str


@with_config(_STRICT)
class ClientFields(TypedDict, total=False):
    id: str


@with_config(_STRICT)
class CanaryFields(TypedDict, total=False):
    name: str
    tier: str
    clients: list[str]
    step: str
    slow: bool
    latency_objective_ms: Annotated[float, Field(gt=0)]


@with_config(_STRICT)
class VigilFields(TypedDict, total=False):
    rails: RailsFields
    auth: AuthFields
    audit: AuditFields
    ingest: IngestFields
    otel: OtelFields
    canary: CanaryFields


# One ECS document; `@timestamp` is not an identifier, hence the functional form.
EcsDocument = TypedDict(
    "EcsDocument",
    {
        "@timestamp": Timestamp,
        "event": EventFields,
        "message": str,
        "source": SourceFields,
        "http": HttpFields,
        "url": UrlFields,
        "user_agent": OriginalFields,
        "user": NameFields,
        "client": ClientFields,
        "service": NameFields,
        "error": ErrorFields,
        "log": LogFields,
        "host": HostFields,
        "process": ProcessFields,
        "trace": IdFields,
        "span": IdFields,
        "vigil": VigilFields,
    },
    total=False,
)
EcsDocument.__pydantic_config__ = _STRICT  # type: ignore[attr-defined]

# Validates one document of a `{namespace}-logs-<dataset>-YYYY.MM.DD` index into the JSON body sent to Elasticsearch.
ECS_DOCUMENT = cast("TypeAdapter[dict[str, Any]]", TypeAdapter(EcsDocument))
