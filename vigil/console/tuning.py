"""Exceptions from the console: "add an exception from this alert" and deleting one from the rule page.

Both need `rules:admin` and go through the detections service with the signed-in subject as the author, exactly
as `POST /detections/alerts/{id}/exceptions` and `DELETE /detections/exceptions/{id}` do (and are audited there).
"""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from detections import Alert, AlertExceptionCreate, Detections
from edgeauth import Principal
from vigil.console.errors import invalid_field
from vigil.console.pages import Pages, moment, text_field

#: Fields an analyst may except on from an alert, when the alert's sample events carry them.
EXCEPTION_FIELDS = (
    "source.ip",
    "user_agent.original",
    "url.path",
    "url.original",
    "http.request.method",
    "user.name",
    "error.type",
    "vigil.auth.client_id",
    "event.reason",
)


def exception_choices(alert: Alert) -> list[tuple[str, bool]]:
    """(field, checked by default): the alert's grouping fields are checked, other fields it carries offered."""
    grouped = {part.split("=", 1)[0] for part in alert.group_key.split("|") if "=" in part}
    carried = {name for e in alert.events for name, value in e.fields.items() if value not in (None, "")}
    return [(name, name in grouped) for name in EXCEPTION_FIELDS if name in carried or name in grouped]


def create_tuning_router(pages: Pages, detections: Detections) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    Admin = Annotated[Principal, Depends(pages.require("rules:admin"))]
    Form = Annotated[FormData, Depends(pages.form())]

    def rule_page(rule_id: str, done: str) -> RedirectResponse:
        return RedirectResponse(f"/console/rules/{quote(rule_id, safe='')}?done={done}", status_code=303)

    @router.post("/alerts/{alert_id}/exceptions")
    def add_exception(alert_id: str, principal: Admin, form: Form) -> RedirectResponse:
        try:
            request = AlertExceptionCreate.model_validate(
                {
                    "reason": text_field(form, "reason", required=True),
                    "expires": moment(text_field(form, "expires")),
                    "fields": [f for f in form.getlist("fields") if isinstance(f, str)],
                }
            )
        except ValidationError as exc:
            raise invalid_field(exc) from None
        made = detections.exception_from_alert(alert_id, request, principal.subject)
        return rule_page(made.rule_id, "exception-added")

    @router.post("/exceptions/{exception_id}/delete")
    def delete_exception(exception_id: str, principal: Admin, form: Form) -> RedirectResponse:
        gone = detections.delete_exception(exception_id, principal.subject)
        return rule_page(gone.rule_id, "exception-deleted")

    return router
