"""The transparency report page: pick a client and a period, read the summary, download the signed package.

Readers of control status (`compliance:read`) use it, bounded by their engagement period like every auditor
page; the report itself comes from `compliance.transparency`, the same one the API and the CLI hand out.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from compliance.transparency import ReportFormat, Transparency, report_response
from edgeauth import Principal
from vigil.console.auditor import control_period, current_engagement, day
from vigil.console.errors import InvalidField
from vigil.console.pages import Pages

FORMS: dict[str, ReportFormat] = {"zip": "zip", "json": "json", "html": "html", "pdf": "pdf"}


def create_transparency_router(pages: Pages, transparency: Transparency) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    ControlReader = Annotated[Principal, Depends(pages.require("compliance:read"))]

    @router.get("/transparency")
    def page(
        request: Request,
        principal: ControlReader,
        client: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> HTMLResponse:
        engagement = current_engagement(principal)
        period = control_period(engagement, day(start, "from"), day(end, "to"))
        report = transparency.report(client, period.start, period.end) if client else None
        return pages.render(
            request, "transparency.html", principal, report=report, client=client or "", period=period, forms=FORMS
        )

    @router.get("/transparency/download")
    def download(
        principal: ControlReader,
        client: str,
        start: str | None = None,
        end: str | None = None,
        form: str = "zip",
    ) -> Response:
        chosen = FORMS.get(form)
        if chosen is None:
            raise InvalidField(f"form: {form!r} is not one of {', '.join(FORMS)}")
        engagement = current_engagement(principal)
        period = control_period(engagement, day(start, "from"), day(end, "to"))
        return report_response(transparency.document(client, period.start, period.end, chosen, actor=principal.subject))

    return router
