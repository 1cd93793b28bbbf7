"""The analyst API: alerts (list, filter, detail, triage, bulk acknowledge) and rules (history, enable/disable).

Scopes: `alerts:read` to read (alerts, rules, events, exceptions, hunt jobs), `alerts:triage` to change alerts,
`rules:admin` to enable or disable rules and to add or delete exceptions, `hunt:run` to start a retro-hunt.
Routes raise; the app's one error handler (`vigil/problems.py`) answers domain errors from their classes.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from detections.analyst.moments import time_range
from detections.models import (
    DEFAULT_EVENT_FIELDS,
    AckRequest,
    AlertExceptionCreate,
    AlertFilter,
    AssignRequest,
    BulkAckRequest,
    EnableRequest,
    EventSearch,
    ExceptionCreate,
    HuntRequest,
    NoteRequest,
    ResolveRequest,
)
from detections.service import Detections
from edgeauth import Guard, Principal

_MEDIA = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json")


def create_router(guard: Guard, detections: Detections) -> APIRouter:
    router = APIRouter(prefix="/detections", tags=["detections"])
    AlertId = Annotated[str, Path(min_length=1, max_length=128)]
    RuleId = Annotated[str, Path(min_length=1, max_length=300)]
    Reader = Annotated[Principal, Depends(guard.require("alerts:read"))]
    Triager = Annotated[Principal, Depends(guard.require("alerts:triage"))]
    Admin = Annotated[Principal, Depends(guard.require("rules:admin"))]

    @router.get("/alerts", response_model=None)
    def list_alerts(
        principal: Reader,
        status: Annotated[list[str] | None, Query(max_length=3)] = None,
        level: Annotated[list[str] | None, Query(max_length=5)] = None,
        rule_id: Annotated[str | None, Query(max_length=300)] = None,
        category: Annotated[str | None, Query(max_length=300)] = None,
        since: Annotated[str | None, Query(max_length=100)] = None,
        until: Annotated[str | None, Query(max_length=100)] = None,
        q: Annotated[str | None, Query(max_length=1000)] = None,
        sort: Annotated[str, Query(max_length=100)] = "last_seen",
        order: Annotated[str, Query(max_length=100)] = "desc",
        limit: Annotated[str, Query(max_length=20)] = "50",
        offset: Annotated[str, Query(max_length=20)] = "0",
    ) -> JSONResponse:
        def run() -> Any:
            flt = AlertFilter.model_validate(
                {
                    "status": status or [],
                    "level": level or [],
                    "rule_id": rule_id,
                    "category": category,
                    "since": since,
                    "until": until,
                    "text": q,
                    "sort": sort,
                    "order": order,
                    "limit": limit,
                    "offset": offset,
                }
            )
            return _dump(detections.alerts(flt))

        return JSONResponse(run())

    @router.get("/alerts/{alert_id}", response_model=None)
    def alert_detail(alert_id: AlertId, principal: Reader) -> JSONResponse:
        def run() -> Any:
            alert = detections.alert(alert_id)
            return {"alert": _dump(alert), "events": detections.alert_events(alert)}

        return JSONResponse(run())

    @router.post("/alerts/{alert_id}/acknowledge", response_model=None)
    def acknowledge(alert_id: AlertId, body: AckRequest, principal: Triager) -> JSONResponse:
        return JSONResponse(
            _dump(detections.acknowledge(alert_id, principal.subject, note=body.note, assignee=body.assignee))
        )

    @router.post("/alerts/{alert_id}/resolve", response_model=None)
    def resolve(alert_id: AlertId, body: ResolveRequest, principal: Triager) -> JSONResponse:
        return JSONResponse(_dump(detections.resolve(alert_id, principal.subject, body.verdict, note=body.note)))

    @router.post("/alerts/{alert_id}/notes", response_model=None)
    def add_note(alert_id: AlertId, body: NoteRequest, principal: Triager) -> JSONResponse:
        return JSONResponse(_dump(detections.add_note(alert_id, principal.subject, body.text)), status_code=201)

    @router.put("/alerts/{alert_id}/assignee", response_model=None)
    def assign(alert_id: AlertId, body: AssignRequest, principal: Triager) -> JSONResponse:
        return JSONResponse(_dump(detections.assign(alert_id, principal.subject, body.assignee)))

    @router.post("/alerts/acknowledge", response_model=None)
    def bulk_acknowledge(body: BulkAckRequest, principal: Triager) -> JSONResponse:
        return JSONResponse({"results": detections.bulk_acknowledge(body.ids, principal.subject, body.note)})

    @router.get("/events", response_model=None)
    def search_events(
        principal: Reader,
        q: Annotated[str, Query(min_length=1, max_length=100_000)],
        from_: Annotated[str, Query(alias="from", max_length=100)] = "now-15m",
        to: Annotated[str, Query(max_length=100)] = "now",
        field: Annotated[list[str] | None, Query(max_length=200)] = None,
        dataset: Annotated[list[str] | None, Query(max_length=10)] = None,
        size: Annotated[str, Query(max_length=20)] = "100",
        after: Annotated[str | None, Query(max_length=1000)] = None,
        format: Literal["json", "ndjson", "csv"] = "json",
    ) -> Response:
        start, end = time_range(from_, to, datetime.now(UTC))
        search = EventSearch.model_validate(
            {
                "query": q,
                "start": start,
                "end": end,
                "fields": field or list(DEFAULT_EVENT_FIELDS),
                "datasets": dataset or [],
                "size": size,
                "after": after,
            }
        )
        if format == "json":
            return JSONResponse(_dump(detections.search_events(search, principal.subject)))
        total, lines = detections.export_events(search, format, principal.subject)
        return StreamingResponse(
            lines,
            media_type=_MEDIA[format],
            headers={
                "Vigil-Total": str(total),
                "Content-Disposition": f'attachment; filename="events.{format}"',
            },
        )

    @router.get("/rules", response_model=None)
    def list_rules(principal: Reader) -> JSONResponse:
        def run() -> Any:
            return {
                "rules": [_dump(r) for r in detections.rules()],
                "findings": [_dump(f) for f in detections.findings],
            }

        return JSONResponse(run())

    @router.get("/rules/{rule_id}", response_model=None)
    def rule_detail(
        rule_id: RuleId, principal: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> JSONResponse:
        def run() -> Any:
            rule = detections.rule(rule_id)
            runs = detections.run_history(rule.id, limit=limit)
            filters = detections.rule_filters(rule.id, runs)
            return {
                "rule": _dump(rule),
                "runs": [_dump(r) for r in runs],
                "filters": [_dump(f) for f in filters],
                # alert storms of this rule so far; each run that folded groups says how many in its record
                "storms": detections.storms().get(rule.id, 0),
            }

        return JSONResponse(run())

    @router.put("/rules/{rule_id}/enabled", response_model=None)
    def set_enabled(rule_id: RuleId, body: EnableRequest, principal: Admin) -> JSONResponse:
        return JSONResponse(_dump(detections.set_enabled(rule_id, body.enabled, principal.subject)))

    ExceptionId = Annotated[str, Path(min_length=1, max_length=64)]
    Hunter = Annotated[Principal, Depends(guard.require("hunt:run"))]

    @router.post("/hunts", response_model=None)
    def start_hunt(body: HuntRequest, principal: Hunter) -> JSONResponse:
        """202: the hunt is queued for a worker; poll `GET /detections/hunts/{id}` for progress and results."""
        job = detections.start_hunt(body, principal.subject)
        return JSONResponse(_dump(job), status_code=202, headers={"Location": f"/detections/hunts/{job.id}"})

    @router.get("/hunts/{hunt_id}", response_model=None)
    def hunt_status(hunt_id: Annotated[str, Path(min_length=1, max_length=64)], principal: Reader) -> JSONResponse:
        return JSONResponse(_dump(detections.hunt_job(hunt_id)))

    @router.get("/exceptions", response_model=None)
    def list_exceptions(
        principal: Reader, rule_id: Annotated[str | None, Query(min_length=1, max_length=300)] = None
    ) -> JSONResponse:
        return JSONResponse({"exceptions": [_dump(e) for e in detections.exceptions(rule_id)]})

    @router.post("/exceptions", response_model=None)
    def add_exception(body: ExceptionCreate, principal: Admin) -> JSONResponse:
        return JSONResponse(_dump(detections.add_exception(body, principal.subject)), status_code=201)

    @router.post("/alerts/{alert_id}/exceptions", response_model=None)
    def exception_from_alert(alert_id: AlertId, body: AlertExceptionCreate, principal: Admin) -> JSONResponse:
        made = detections.exception_from_alert(alert_id, body, principal.subject)
        return JSONResponse(_dump(made), status_code=201)

    @router.delete("/exceptions/{exception_id}", response_model=None)
    def delete_exception(exception_id: ExceptionId, principal: Admin) -> JSONResponse:
        return JSONResponse(_dump(detections.delete_exception(exception_id, principal.subject)))

    return router


__all__ = ["create_router"]
