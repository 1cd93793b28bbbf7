"""The Elastic Common Schema (ECS) fields siem writes, as pydantic models.

Only the fields in the index templates exist here, so a parser cannot emit a field Elasticsearch would have to
guess a type for. Field names follow ECS; `vigil.*` holds what ECS has no name for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


def _as_utc(value: datetime) -> datetime:
    """Timestamps without an offset are taken as UTC; daily indices are cut on UTC days."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


def _textual(value: object) -> object:
    """An address must be written as text: pydantic would otherwise read the number 12 as 0.0.0.12."""
    if isinstance(value, int | float):
        raise ValueError("an IP address must be a string")
    return value


IpAddress = Annotated[IPv4Address | IPv6Address, BeforeValidator(_textual)]

Dataset = Literal["access", "exception", "auth"]
DATASETS: tuple[Dataset, ...] = ("access", "exception", "auth")


class _Ecs(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class EventFields(_Ecs):
    id: str
    dataset: Dataset
    kind: Literal["event", "alert", "metric"] = "event"
    category: list[str] = Field(default_factory=list)
    type: list[str] = Field(default_factory=list)
    outcome: Literal["success", "failure", "unknown"] | None = None
    action: str | None = None
    reason: str | None = None
    duration: int | None = Field(default=None, ge=0, description="Nanoseconds.")
    original: str
    ingested: UtcDatetime


class SourceFields(_Ecs):
    ip: IpAddress | None = None


class RequestFields(_Ecs):
    id: str | None = None
    method: str | None = None
    referrer: str | None = None


class BodyFields(_Ecs):
    bytes: int | None = Field(default=None, ge=0)


class ResponseFields(_Ecs):
    status_code: int | None = Field(default=None, ge=0, le=999)
    body: BodyFields | None = None


class HttpFields(_Ecs):
    request: RequestFields | None = None
    response: ResponseFields | None = None


class UrlFields(_Ecs):
    original: str | None = None
    path: str | None = None
    query: str | None = None
    domain: str | None = None


class UserAgentFields(_Ecs):
    original: str | None = None


class UserFields(_Ecs):
    name: str | None = None


class ServiceFields(_Ecs):
    name: str | None = None


class ErrorFields(_Ecs):
    type: str | None = None
    message: str | None = None
    stack_trace: str | None = None


class LogFields(_Ecs):
    level: str | None = None


class RailsFields(_Ecs):
    controller: str | None = None
    action: str | None = None


class AuthFields(_Ecs):
    client_id: str | None = None
    scopes: list[str] | None = None
    jti: str | None = None
    kid: str | None = None
    alg: str | None = None


class VigilFields(_Ecs):
    rails: RailsFields | None = None
    auth: AuthFields | None = None


class EcsEvent(_Ecs):
    """One document of a `{prefix}-logs-<dataset>-YYYY.MM.DD` index."""

    timestamp: UtcDatetime = Field(alias="@timestamp")
    event: EventFields
    message: str | None = None
    source: SourceFields | None = None
    http: HttpFields | None = None
    url: UrlFields | None = None
    user_agent: UserAgentFields | None = None
    user: UserFields | None = None
    service: ServiceFields | None = None
    error: ErrorFields | None = None
    log: LogFields | None = None
    vigil: VigilFields | None = None

    def document(self) -> dict[str, Any]:
        """The JSON body sent to Elasticsearch: aliases applied, absent fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
