"""HTTP adapter: the control table, status history and OSCAL export for auditors (`compliance:read`)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ValidationError

from compliance.errors import EngagementError, NoStatusError, PeriodError
from compliance.models import Period, StatusReport
from compliance.service import Compliance
from edgeauth import Guard, Principal


class ControlPublic(BaseModel):
    id: str
    framework: str
    summary: str
    checks: tuple[str, ...]


def period_of(start: datetime | None, end: datetime | None) -> Period:
    if start is None or end is None:
        raise PeriodError("give both `from` and `to` (RFC 3339 times with a zone)")
    try:
        return Period(start=start, end=end)
    except ValidationError as exc:
        raise PeriodError(f"invalid period: {exc.errors()[0]['msg']}") from None


def check_engagement(principal: Principal, period: Period) -> None:
    """An auditor bound to an engagement sees only periods inside it."""
    claim = principal.claims.get("engagement")
    if claim is None:
        return
    try:
        engagement = Period(start=claim["from"], end=claim["to"])
    except (KeyError, TypeError, ValidationError):
        raise EngagementError("the token's engagement claim is malformed") from None
    if period.start < engagement.start or period.end > engagement.end:
        raise EngagementError("the requested period lies outside your engagement period")


def create_router(guard: Guard, service: Compliance) -> APIRouter:
    router = APIRouter(prefix="/compliance", tags=["compliance"])
    Reader = Annotated[Principal, Depends(guard.require("compliance:read"))]
    From = Annotated[datetime | None, Query(alias="from", description="Period start, RFC 3339 with a zone.")]
    To = Annotated[datetime | None, Query(alias="to", description="Period end (exclusive), RFC 3339 with a zone.")]

    @router.get("/controls")
    def controls(principal: Reader) -> list[ControlPublic]:
        """Every control in scope with its summary and the checks that evidence it."""
        return [
            ControlPublic(id=c.id, framework=c.framework, summary=c.summary, checks=c.checks)
            for c in service.controls()
        ]

    @router.get("/status")
    def status(principal: Reader, start: From = None, end: To = None) -> StatusReport:
        """The latest stored evaluation, or (with `from` and `to`) an evaluation of that period's evidence."""
        if start is None and end is None:
            report = service.latest()
            if report is None:
                raise NoStatusError("no evaluation stored yet; run `vigil compliance status` or the beat")
            check_engagement(principal, report.period)
            return report
        period = period_of(start, end)
        check_engagement(principal, period)
        return service.evaluate(period)

    @router.get("/history")
    def history(principal: Reader, start: From = None, end: To = None) -> list[StatusReport]:
        """Every stored evaluation made inside the period, oldest first."""
        period = period_of(start, end)
        check_engagement(principal, period)
        return service.history(period)

    @router.get("/oscal")
    def oscal(principal: Reader, start: From = None, end: To = None) -> dict[str, Any]:
        """OSCAL assessment-results for the period."""
        period = period_of(start, end)
        check_engagement(principal, period)
        return service.oscal(period)

    return router
