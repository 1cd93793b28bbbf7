"""HTTP adapter: one client's transparency report for auditors and administrators holding `compliance:read`.

The report is compliance output (verdicts, SLA figures, alert counts and timings, evidence digests: never event
content), so the scope that reads control status reads it too. An auditor bound to an engagement gets reports
only for periods inside it, as with bundle downloads; every report handed out is audited with its digest.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from compliance.http import check_engagement, period_of
from compliance.transparency.models import ReportFormat
from compliance.transparency.service import MEDIA_TYPES, ReportDocument, Transparency
from edgeauth import Guard, Principal

CLIENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"


def create_router(guard: Guard, transparency: Transparency) -> APIRouter:
    """`GET /compliance/transparency/{client}?from=&to=&format=zip|json|html|pdf`."""
    router = APIRouter(prefix="/compliance", tags=["compliance"])
    Reader = Annotated[Principal, Depends(guard.require("compliance:read"))]

    @router.get(
        "/transparency/{client}",
        response_class=Response,
        responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}, "description": "The report."}},
    )
    def transparency_report(
        principal: Reader,
        client: Annotated[str, Path(min_length=1, max_length=128, pattern=CLIENT_PATTERN)],
        start: Annotated[datetime, Query(alias="from", description="Period start, RFC 3339 with a zone.")],
        end: Annotated[datetime, Query(alias="to", description="Period end (excluded), RFC 3339 with a zone.")],
        form: Annotated[ReportFormat, Query(alias="format", description="zip: the signed package.")] = "zip",
    ) -> Response:
        """One client's transparency report: the signed package (default), or its JSON, HTML or PDF alone."""
        check_engagement(principal, period_of(start, end))
        return report_response(transparency.document(client, start, end, form, actor=principal.subject))

    return router


def report_response(document: ReportDocument) -> Response:
    """A report form as a download: never cached, never sniffed into something else."""
    return Response(
        document.content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
