"""The event search page and its export, and the pivots from an alert into it.

Everything goes through `Detections.search_events` / `export_events` with the signed-in subject as the actor,
so the page has the API's limits and every search it runs is audited the same way.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from detections import (
    DEFAULT_EVENT_FIELDS,
    Alert,
    Detections,
    DetectionsError,
    EventPage,
    EventSearch,
    parse_time_range,
)
from edgeauth import Principal
from vigil.console.errors import InvalidField, invalid_field
from vigil.console.pages import Pages

PIVOT_MINUTES = 15
EXPORTS = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def quoted(value: str) -> str:
    """A value as a Lucene phrase: quotes and backslashes escaped, so it never changes the query's shape."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def events_link(query: str, start: datetime, end: datetime) -> str:
    return "/console/events?" + urlencode({"q": query, "from": start.isoformat(), "to": end.isoformat()})


def pivots(alert: Alert) -> list[tuple[str, str]]:
    """(label, link): the same source within ±15 minutes of the alert, and each request id it saw."""
    margin = timedelta(minutes=PIVOT_MINUTES)
    links: list[tuple[str, str]] = []
    sources = sorted({str(e.fields["source.ip"]) for e in alert.events if e.fields.get("source.ip")})
    for ip in sources[:5]:
        query = f"source.ip:{quoted(ip)}"
        links.append(
            (
                f"Same source {ip}, ±{PIVOT_MINUTES} min",
                events_link(query, alert.first_seen - margin, alert.last_seen + margin),
            )
        )
    requests = sorted({str(e.fields["http.request.id"]) for e in alert.events if e.fields.get("http.request.id")})
    for request_id in requests[:5]:
        query = f"http.request.id:{quoted(request_id)}"
        links.append(
            (
                f"Same request id {request_id}",
                events_link(query, alert.first_seen - timedelta(days=1), alert.last_seen + timedelta(days=1)),
            )
        )
    return links


def search_of(params: QueryParams, size: int, *, after: str | None = None) -> EventSearch:
    """The search a page's query string asks for; a bad field or time is an `InvalidField` naming it."""
    extra = [f.strip() for f in (params.get("extra") or "").split(",") if f.strip()]
    try:
        start, end = parse_time_range(params.get("from") or "now-15m", params.get("to") or "now", datetime.now(UTC))
        return EventSearch.model_validate(
            {
                "query": params.get("q") or "",
                "start": start,
                "end": end,
                "fields": list(dict.fromkeys([*(params.getlist("field") or DEFAULT_EVENT_FIELDS), *extra])),
                "datasets": params.getlist("dataset"),
                "size": size,
                "after": after,
            }
        )
    except ValidationError as exc:
        raise invalid_field(exc) from None
    except DetectionsError as exc:
        raise InvalidField(str(exc)) from None


def create_search_router(pages: Pages, detections: Detections, page_size: int) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    Reader = Annotated[Principal, Depends(pages.require("alerts:read"))]

    @router.get("/events")
    def events_page(request: Request, principal: Reader) -> HTMLResponse:
        params = request.query_params
        page: EventPage | None = None
        error: str | None = None
        status = 200
        if params.get("q"):
            try:
                page = detections.search_events(
                    search_of(params, page_size, after=params.get("after")), principal.subject
                )
            except (DetectionsError, InvalidField) as exc:
                error, status = str(exc), int(getattr(exc, "status_code", 400))
        kept: list[tuple[str, Any]] = [(k, v) for k, v in params.multi_items() if k != "after"]
        chosen = params.getlist("field") or list(DEFAULT_EVENT_FIELDS)
        return pages.render(
            request,
            "events.html",
            principal,
            status=status,
            page=page,
            error=error,
            q=params.get("q") or "",
            start=params.get("from") or "now-15m",
            end=params.get("to") or "now",
            extra=params.get("extra") or "",
            chosen=chosen,
            choices=list(dict.fromkeys([*DEFAULT_EVENT_FIELDS, *chosen])),
            next_link=f"/console/events?{urlencode([*kept, ('after', page.next)])}" if page and page.next else None,
            exports={fmt: f"/console/events/export?{urlencode([*kept, ('format', fmt)])}" for fmt in EXPORTS},
        )

    @router.get("/events/export")
    def export(request: Request, principal: Reader) -> StreamingResponse:
        fmt = request.query_params.get("format") or "csv"
        if fmt not in EXPORTS:
            raise InvalidField(f"format must be one of {', '.join(EXPORTS)}")
        search = search_of(request.query_params, 1)
        total, lines = detections.export_events(search, "csv" if fmt == "csv" else "ndjson", principal.subject)
        return StreamingResponse(
            lines,
            media_type=EXPORTS[fmt],
            headers={"Vigil-Total": str(total), "Content-Disposition": f'attachment; filename="events.{fmt}"'},
        )

    return router
