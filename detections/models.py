"""Boundary models of the detections package: findings, rules, runs, alerts and triage."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Level(StrEnum):
    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Finding(BaseModel):
    """One typed result of loading or validating a rule: errors reject the rule, warnings do not."""

    model_config = ConfigDict(frozen=True)

    source: str
    rule_id: str | None = None
    severity: Literal["error", "warning"]
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.source}: {self.code}: {self.message}"


RuleKind = Literal["simple", "correlation", "new_terms"]


class FilterInfo(BaseModel):
    """A Sigma meta-filter tuning a rule: from a file among the rule paths, or an analyst's exception."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    kind: Literal["file", "exception"]
    source: str
    author: str | None = None
    reason: str | None = None
    expires: datetime | None = None
    suppressed: int | None = Field(default=None, description="Events it removed over the span of the last runs.")


class RuleInfo(BaseModel):
    """A loaded rule as analysts and other packages see it."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str | None = None
    title: str
    level: Level
    tags: list[str]
    dataset: str
    kind: RuleKind
    source: str
    description: str | None = None
    queries: list[str] = Field(default_factory=list)
    standalone: bool = True
    enabled: bool = True
    blind: bool = False
    interval_seconds: int
    warnings: list[str] = Field(default_factory=list)
    filters: list[FilterInfo] = Field(default_factory=list)

    @property
    def attack(self) -> list[str]:
        return [t for t in self.tags if t.startswith("attack.")]


class RuleRun(BaseModel):
    """The record of one run of one rule over one window."""

    rule_id: str
    started: datetime
    window_start: datetime
    window_end: datetime
    duration_ms: float
    hits: int
    alerts: int
    error: str | None = None
    groups: int = 0  # groups that matched (each got its alert, or all were folded into one storm alert)
    pages: int = 0  # search requests the window took (composite pages, history lookups)
    folded_groups: int = 0  # > 0: an alert storm folded this many groups into one alert
    folded_events: int = 0


class AlertStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Verdict(StrEnum):
    TRUE_POSITIVE = "true_positive"
    FALSE_POSITIVE = "false_positive"
    BENIGN = "benign"


class Transition(BaseModel):
    actor: str
    at: datetime
    from_status: AlertStatus | None
    to_status: AlertStatus
    verdict: Verdict | None = None
    assignee: str | None = None
    note: str | None = None


class Note(BaseModel):
    actor: str
    at: datetime
    text: str


class EventSnapshot(BaseModel):
    """Key fields of one matched event, kept on the alert so it stays readable after retention."""

    id: str
    index: str | None = None
    timestamp: datetime | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class Alert(BaseModel):
    id: str
    rule_id: str
    rule_title: str
    level: Level
    category: str = "detection"
    tags: list[str] = Field(default_factory=list)
    attack: list[str] = Field(default_factory=list)
    dataset: str
    group_key: str
    first_seen: datetime
    last_seen: datetime
    created: datetime
    updated: datetime
    count: int
    event_ids: list[str] = Field(default_factory=list)
    events: list[EventSnapshot] = Field(default_factory=list)
    status: AlertStatus = AlertStatus.NEW
    verdict: Verdict | None = None
    assignee: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    summary: str = ""
    detail: str = ""  # what matched (e.g. "event_count 2352 in 1m", "alert storm: ..."); the summary adds the facts
    counted_until: datetime | None = None  # end of the last span counted, so a span merged twice counts once
    folded_groups: int = 0  # an alert storm: how many groups this one alert stands for
    transitions: list[Transition] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)


NoteText = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
Actor = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: NoteText | None = None
    assignee: Actor | None = None


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Verdict
    note: NoteText | None = None


class NoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: NoteText


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: Actor | None


class BulkAckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=128)]], Field(min_length=1, max_length=500)
    ]
    note: NoteText | None = None


class EnableRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


SortField = Literal["last_seen", "first_seen", "created", "level", "count", "status"]


class AlertFilter(BaseModel):
    """Filters of the alert list; every field is optional and validated."""

    model_config = ConfigDict(extra="forbid")

    status: list[AlertStatus] = Field(default_factory=list)
    level: list[Level] = Field(default_factory=list)
    rule_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    category: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")] | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    sort: SortField = "last_seen"
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000)


class AlertPage(BaseModel):
    total: int
    alerts: list[Alert]


class TriageTimes(BaseModel):
    """Triage latency of resolved alerts for one level, for compliance evidence."""

    level: Level
    resolved: int
    mean_seconds_to_ack: float | None
    mean_seconds_to_resolve: float | None
    max_seconds_to_resolve: float | None


class SourceHealth(BaseModel):
    dataset: str
    last_ingested: datetime | None
    silent: bool


FieldName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z@_][A-Za-z0-9@_.]{0,99}$")]
DEFAULT_EVENT_FIELDS = (
    "@timestamp",
    "event.dataset",
    "source.ip",
    "http.request.method",
    "url.original",
    "http.response.status_code",
    "user_agent.original",
    "http.request.id",
    "event.action",
    "event.outcome",
    "event.reason",
    "user.name",
    "error.type",
)


class EventSearch(BaseModel):
    """One analyst search: a Lucene query over the logs by `@timestamp` in [start, end)."""

    model_config = ConfigDict(extra="forbid")

    query: Annotated[str, StringConstraints(min_length=1, max_length=100_000, strip_whitespace=True)]
    start: datetime
    end: datetime
    fields: list[FieldName] = Field(default_factory=lambda: list(DEFAULT_EVENT_FIELDS))
    datasets: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]] = Field(
        default_factory=list, max_length=10
    )
    size: int = Field(default=100, ge=1, le=10_000)
    after: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None


class EventPage(BaseModel):
    """A page of matching events (newest first) with the exact total, counts per dataset and the next cursor."""

    total: int
    took_ms: int
    fields: list[str]
    events: list[dict[str, Any]]
    datasets: dict[str, int]
    next: str | None = None


ExceptionField = Annotated[str, StringConstraints(pattern=r"^[a-z@_][a-z0-9@_.]{0,99}$")]
ExceptionValue = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Reason = Annotated[str, StringConstraints(min_length=3, max_length=1000, strip_whitespace=True)]


class RuleException(BaseModel):
    """An analyst's exception to one rule, kept as the Sigma meta-filter (`sigma`) the loader applies."""

    id: str
    rule_id: str
    author: str
    reason: str
    created: datetime
    expires: datetime | None = None
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    match: dict[str, list[str]]
    sigma: str

    def active(self, now: datetime) -> bool:
        return self.deleted_at is None and (self.expires is None or self.expires > now)


class ExceptionCreate(BaseModel):
    """`match`: ECS field -> the values to except (exact, case-insensitive like Sigma); all fields must match."""

    model_config = ConfigDict(extra="forbid")

    rule_id: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    reason: Reason
    expires: datetime | None = None
    match: Annotated[
        dict[ExceptionField, Annotated[list[ExceptionValue], Field(min_length=1, max_length=50)]],
        Field(min_length=1, max_length=8),
    ]


class AlertExceptionCreate(BaseModel):
    """An exception from an alert: the values of `fields` are read from the alert (its group, then its sample)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    expires: datetime | None = None
    fields: Annotated[list[ExceptionField], Field(max_length=8)] = Field(default_factory=list)


class HuntRequest(BaseModel):
    """Rules over already-ingested data, by `@timestamp` in [from, to); `rules` empty means every enabled rule."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(alias="from")
    end: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(default="now", alias="to")
    rules: list[Annotated[str, StringConstraints(min_length=1, max_length=300)]] = Field(
        default_factory=list, max_length=500
    )
    dry_run: bool = False


class HuntRuleResult(BaseModel):
    """What one rule found over the whole hunt: exact hits, groups, alerts written and groups already alerted."""

    rule_id: str
    title: str
    hits: int = 0
    groups: int = 0
    alerts_changed: int = 0
    already_alerted: int = 0
    by_group: dict[str, int] = Field(default_factory=dict)
    groups_not_listed: int = 0
    errors: list[str] = Field(default_factory=list)


HuntStatus = Literal["queued", "running", "done", "failed"]


class HuntJob(BaseModel):
    """A retro-hunt as the API and the worker share it (kept in `{namespace}-detections-hunts`)."""

    id: str
    status: HuntStatus = "queued"
    actor: str
    start: datetime
    end: datetime
    rules: list[str]
    dry_run: bool = False
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None
    windows_total: int = 0
    windows_done: int = 0
    seconds: float = 0.0
    results: list[HuntRuleResult] = Field(default_factory=list)
    error: str | None = None
