"""Auditor pages: the control table for the engagement period, evidence items, bundles and download history.

The engagement period of an auditor's token (`engagement` claim) bounds everything shown, as in the auditor API:
outside it, a period is refused and bundles and evidence items read as absent. Bundle downloads are recorded in
the locker before a byte is sent.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from compliance import Compliance, Period
from edgeauth import Principal
from evidence import Engagement, EngagementError, EvidenceArchive, bundle_response, engagement_from_claims
from vigil.console.downloads import Downloads
from vigil.console.errors import InvalidField, NotFound, OutsideEngagement, invalid_field
from vigil.console.pages import Pages
from vigil.console.settings import ConsoleSettings

DEFAULT_PERIOD = timedelta(days=30)
PREVIEW_BYTES = 64 * 1024


def current_engagement(principal: Principal) -> Engagement | None:
    """The token's engagement, refused when it does not cover the present (as the auditor API refuses it)."""
    engagement = engagement_from_claims(principal.claims)
    if engagement is not None and not engagement.covers_now(datetime.now(UTC)):
        raise EngagementError(
            f"your engagement period {engagement.start:%Y-%m-%d} .. {engagement.end:%Y-%m-%d} is not current"
        )
    return engagement


def day(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidField(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def control_period(engagement: Engagement | None, start: datetime | None, end: datetime | None) -> Period:
    """The asked period, else the engagement, else the last 30 days; never outside the engagement."""
    if engagement is not None:
        start, end = start or engagement.start, end or engagement.end
    else:
        now = datetime.now(UTC)
        start, end = start or now - DEFAULT_PERIOD, end or now
    try:
        period = Period(start=start, end=end)
    except ValidationError as exc:
        raise invalid_field(exc) from None
    if engagement is not None and not engagement.covers_period(period.start, period.end):
        raise OutsideEngagement("the requested period lies outside your engagement period")
    return period


def create_auditor_router(
    pages: Pages, archive: EvidenceArchive, compliance: Compliance, settings: ConsoleSettings
) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    ControlReader = Annotated[Principal, Depends(pages.require("compliance:read"))]
    EvidenceReader = Annotated[Principal, Depends(pages.require("evidence:read"))]
    downloads = Downloads(archive)

    @router.get("/controls")
    def controls(
        request: Request, principal: ControlReader, start: str | None = None, end: str | None = None
    ) -> HTMLResponse:
        engagement = current_engagement(principal)
        period = control_period(engagement, day(start, "from"), day(end, "to"))
        report = compliance.evaluate(period)
        return pages.render(request, "controls.html", principal, report=report, period=period, engagement=engagement)

    @router.get("/evidence/{sequence}")
    def evidence_item(request: Request, sequence: int, principal: EvidenceReader) -> HTMLResponse:
        engagement = current_engagement(principal)
        doc = archive.locker.entry(sequence)
        if doc is None:
            raise NotFound(f"no evidence item with sequence {sequence}")
        record = json.loads(doc["record"])
        effective = datetime.fromisoformat(doc["effective_at"].replace("Z", "+00:00"))
        if engagement is not None and not engagement.start <= effective <= engagement.end:
            raise NotFound(f"no evidence item with sequence {sequence}")
        preview = None
        if doc["size"] <= PREVIEW_BYTES and doc["media_type"].startswith(("application/json", "text/")):
            with archive.locker.open_content(doc["sha256"]) as content:
                preview = content.read(PREVIEW_BYTES).decode("utf-8", errors="replace")
        return pages.render(request, "evidence.html", principal, doc=doc, record=record, preview=preview)

    @router.get("/bundles")
    def bundles(request: Request, principal: EvidenceReader) -> HTMLResponse:
        engagement = current_engagement(principal)
        listed = archive.bundles_for(engagement)
        keys = {k.kid: k for k in archive.public_keys()}
        history = downloads.of(principal.subject, settings.history_limit)
        return pages.render(
            request, "bundles.html", principal, bundles=listed, keys=keys, history=history, engagement=engagement
        )

    @router.get("/bundles/{name}")
    async def download(name: str, principal: EvidenceReader, request: Request) -> Response:
        info = await run_in_threadpool(
            lambda: archive.download(
                name,
                principal.claims,
                subject=principal.subject,
                client_id=principal.client_id,
                token_id=principal.token_id,
                byte_range=request.headers.get("range"),
            )
        )
        return bundle_response(archive, info, request.headers.get("range"))

    return router
