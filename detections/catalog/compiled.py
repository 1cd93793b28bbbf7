"""The compiled form of a rule: what the engine needs to run it, next to what analysts see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from detections.models import RuleInfo

DEFAULT_GROUP_BY: dict[str, tuple[str, ...]] = {
    "access": ("source.ip",),
    "exception": ("error.type.caseless",),
    "auth": ("source.ip",),
    # An audited change alerts per thing changed (one key, one rule, one client), whoever changed it; key ids are
    # case-sensitive, so the raw keyword groups.
    "audit": ("vigil.audit.target",),
}


class RuleExtension(BaseModel):
    """The optional `vigil:` block of a rule: scheduling, grouping and rule types Sigma does not have."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: int | None = Field(default=None, ge=1, le=86_400)
    group_by: list[str] = Field(default_factory=list, max_length=4)
    suppress: int | None = Field(default=None, ge=1, le=30 * 86_400)
    new_terms: list[str] = Field(default_factory=list, max_length=4)
    # a temporal correlation's second join for events whose group-by value is missing (plain logs without a
    # request id): these fields, within this shorter timespan
    fallback_group_by: list[str] = Field(default_factory=list, max_length=4)
    fallback_timespan: int | None = Field(default=None, ge=1, le=3600)


@dataclass(frozen=True)
class Part:
    """One detection rule a correlation refers to, converted."""

    rule_id: str
    name: str
    dataset: str
    query: str


@dataclass(frozen=True)
class Correlation:
    type: str  # event_count | value_count | temporal
    timespan: int
    group_by: tuple[str, ...]
    op: str  # gte | gt | lte | lt | eq | neq
    count: int
    value_field: str | None
    parts: tuple[Part, ...]
    fallback_group_by: tuple[str, ...] = ()
    fallback_timespan: int = 0


@dataclass(frozen=True)
class Suppression:
    """One filter applied to a rule, with the Lucene query of exactly the events it removes from the rule."""

    filter_id: str
    query: str
    since: datetime | None = None


@dataclass(frozen=True)
class CompiledRule:
    info: RuleInfo
    query: str | None
    datasets: tuple[str, ...]
    group_by: tuple[str, ...]
    suppress_seconds: int
    correlation: Correlation | None = None
    new_terms: tuple[str, ...] = field(default_factory=tuple)
    suppressions: tuple[Suppression, ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return self.info.id


COMPARATORS = {
    "gte": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
}


def condition_holds(correlation: Correlation, value: int) -> bool:
    return bool(COMPARATORS[correlation.op](value, correlation.count))
