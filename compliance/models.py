"""Boundary models of compliance: periods, verdicts and control status."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    NOT_APPLICABLE = "not-applicable"


class Period(BaseModel):
    """A half-open interval [start, end) of evidence effective times."""

    model_config = ConfigDict(frozen=True)

    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end <= self.start:
            raise ValueError("the period must end after it starts")
        return self

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


class CheckResult(BaseModel):
    """What one check concluded, why, under which thresholds, from which evidence."""

    model_config = ConfigDict(frozen=True)

    check_id: str
    outcome: Outcome
    reason: str
    thresholds: dict[str, Any] = Field(default_factory=dict)
    evidence_ids: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()


class ControlResult(BaseModel):
    """A control's verdict: the worst verdict of its checks (fail > pass > not-applicable)."""

    model_config = ConfigDict(frozen=True)

    control_id: str
    framework: str
    summary: str
    outcome: Outcome
    reason: str
    verdicts: tuple[CheckResult, ...]


class StatusReport(BaseModel):
    """Every control in scope over one period, as stored in the status history and served by the API."""

    model_config = ConfigDict(frozen=True)

    period: Period
    evaluated_at: AwareDatetime
    evidence_count: int
    controls: tuple[ControlResult, ...]

    def result(self, control_id: str) -> ControlResult | None:
        return next((c for c in self.controls if c.control_id == control_id), None)
