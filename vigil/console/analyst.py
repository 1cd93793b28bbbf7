"""Analyst pages: overview charts, the alert queue, alert detail with triage, and the rules page.

Reading needs `alerts:read`; every change needs `alerts:triage` and goes through the detections service with the
signed-in subject as the actor, exactly as the analyst API does.
"""

from collections import defaultdict
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from detections import AlertFilter, AlertStatus, Detections, Level, RuleRun, Verdict
from edgeauth import Principal
from siem import Pipeline
from vigil.console.charts import LEVEL_COLOURS, stacked_bars
from vigil.console.errors import InvalidField, invalid_field
from vigil.console.pages import Pages, flatten, moment, text_field
from vigil.console.search import pivots
from vigil.console.settings import ConsoleSettings
from vigil.console.tuning import exception_choices

SORTS = ("last_seen", "first_seen", "created", "level", "count", "status")
EVENT_COLUMNS = (
    "@timestamp",
    "event.dataset",
    "event.action",
    "event.outcome",
    "event.reason",
    "source.ip",
    "user.name",
    "http.request.method",
    "url.path",
    "http.response.status_code",
    "error.type",
    "message",
)


def field_of(row: dict[str, Any], name: str) -> Any:
    """A field of a flattened event, or of its snapshot when the event itself is past retention."""
    return row.get(name, row.get(f"snapshot.{name}"))


def queue_filter(params: dict[str, Any], page_size: int) -> AlertFilter:
    page = params.get("page") or "1"
    if not str(page).isdigit() or not 1 <= int(page) <= 10_000:
        raise InvalidField("page must be a whole number from 1")
    try:
        return AlertFilter.model_validate(
            {
                "status": params.get("status", []),
                "level": params.get("level", []),
                "rule_id": params.get("rule") or None,
                "since": moment(params.get("since")),
                "until": moment(params.get("until")),
                "text": params.get("q") or None,
                "sort": params.get("sort") or "last_seen",
                "order": params.get("order") or "desc",
                "limit": page_size,
                "offset": min((int(page) - 1) * page_size, 10_000),
            }
        )
    except ValidationError as exc:
        raise invalid_field(exc) from None


def latest_runs(runs: list[RuleRun]) -> dict[str, list[RuleRun]]:
    grouped: dict[str, list[RuleRun]] = defaultdict(list)
    for run in runs:
        grouped[run.rule_id].append(run)
    return grouped


def create_analyst_router(
    pages: Pages, detections: Detections, ingest: Pipeline, settings: ConsoleSettings
) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)
    Reader = Annotated[Principal, Depends(pages.require("alerts:read"))]
    Triager = Annotated[Principal, Depends(pages.require("alerts:triage"))]
    Form = Annotated[FormData, Depends(pages.form())]

    def back_to(alert_id: str, done: str) -> RedirectResponse:
        return RedirectResponse(f"/console/alerts/{quote(alert_id, safe='')}?done={done}", status_code=303)

    @router.get("/overview")
    def overview_page(request: Request, principal: Reader) -> HTMLResponse:
        days = settings.overview_days
        alerts = detections.alerts_by_level(days)
        events = ingest.ingested_by_dataset(days)
        open_alerts = {
            status: detections.alerts(AlertFilter(status=[status], limit=1)).total
            for status in (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED)
        }
        levels = [level.value for level in Level]
        return pages.render(
            request,
            "overview.html",
            principal,
            days=days,
            alerts=alerts,
            events=events,
            levels=levels,
            open_alerts=open_alerts,
            alerts_chart=stacked_bars(alerts, title=f"Alerts by severity, last {days} days", order=levels),
            events_chart=stacked_bars(events, title=f"Events ingested per source, last {days} days"),
            level_colours=LEVEL_COLOURS,
        )

    @router.get("/alerts")
    def queue(request: Request, principal: Reader) -> HTMLResponse:
        params: dict[str, Any] = {key: request.query_params.get(key) for key in request.query_params}
        params["status"] = request.query_params.getlist("status")
        params["level"] = request.query_params.getlist("level")
        flt = queue_filter(params, settings.page_size)
        page = detections.alerts(flt)
        rules = detections.rules(health=[])
        shown = {k: v for k, v in request.query_params.multi_items() if k != "page"}
        return pages.render(
            request,
            "alerts.html",
            principal,
            page=page,
            flt=flt,
            rules=rules,
            levels=[level.value for level in Level],
            statuses=[status.value for status in AlertStatus],
            sorts=SORTS,
            current=int(params.get("page") or 1),
            pages=max(1, -(-page.total // settings.page_size)),
            query=urlencode(shown),
            text=params.get("q") or "",
            since=params.get("since") or "",
            until=params.get("until") or "",
        )

    @router.post("/alerts/acknowledge")
    def bulk_acknowledge(request: Request, principal: Triager, form: Form) -> RedirectResponse:
        ids = [i for i in form.getlist("ids") if isinstance(i, str) and i]
        if not ids:
            raise InvalidField("select at least one alert to acknowledge")
        if len(ids) > 500:
            raise InvalidField("acknowledge at most 500 alerts at once")
        detections.bulk_acknowledge(ids, principal.subject, text_field(form, "note"))
        back = text_field(form, "back") or ""
        return RedirectResponse(f"/console/alerts?{back}&done=bulk" if back else "/console/alerts?done=bulk", 303)

    @router.get("/alerts/{alert_id}")
    def alert_page(request: Request, alert_id: str, principal: Reader) -> HTMLResponse:
        alert = detections.alert(alert_id)
        events = detections.alert_events(alert)
        # A note given with a transition is kept on both; the timeline shows it once, with the transition.
        said = {(t.actor, t.at, t.note) for t in alert.transitions if t.note}
        notes = [n for n in alert.notes if (n.actor, n.at, n.text) not in said]
        timeline = sorted(
            [("transition", t.at, t) for t in alert.transitions] + [("note", n.at, n) for n in notes],
            key=lambda entry: entry[1],
        )
        rows = [flatten(e) for e in events]
        columns = [c for c in EVENT_COLUMNS if any(field_of(row, c) not in (None, "") for row in rows)]
        return pages.render(
            request,
            "alert.html",
            principal,
            pivots=pivots(alert),
            exception_fields=exception_choices(alert),
            alert=alert,
            events=list(zip(events, rows, strict=True)),
            columns=columns,
            timeline=timeline,
            verdicts=[v.value for v in Verdict],
        )

    @router.post("/alerts/{alert_id}/acknowledge")
    def acknowledge(alert_id: str, principal: Triager, form: Form) -> RedirectResponse:
        detections.acknowledge(
            alert_id, principal.subject, note=text_field(form, "note"), assignee=text_field(form, "assignee")
        )
        return back_to(alert_id, "acknowledged")

    @router.post("/alerts/{alert_id}/resolve")
    def resolve(alert_id: str, principal: Triager, form: Form) -> RedirectResponse:
        verdict = text_field(form, "verdict", required=True)
        if verdict not in {v.value for v in Verdict}:
            raise InvalidField(f"verdict must be one of {', '.join(v.value for v in Verdict)}")
        detections.resolve(alert_id, principal.subject, Verdict(verdict), note=text_field(form, "note"))
        return back_to(alert_id, "resolved")

    @router.post("/alerts/{alert_id}/assign")
    def assign(alert_id: str, principal: Triager, form: Form) -> RedirectResponse:
        assignee = text_field(form, "assignee")
        if assignee is not None and len(assignee) > 200:
            raise InvalidField("assignee: at most 200 characters")
        detections.assign(alert_id, principal.subject, assignee)
        return back_to(alert_id, "assigned")

    @router.post("/alerts/{alert_id}/notes")
    def note(alert_id: str, principal: Triager, form: Form) -> RedirectResponse:
        text = text_field(form, "text", required=True) or ""
        if len(text) > 4000:
            raise InvalidField("note: at most 4000 characters")
        detections.add_note(alert_id, principal.subject, text)
        return back_to(alert_id, "noted")

    @router.get("/rules")
    def rules_page(request: Request, principal: Reader) -> HTMLResponse:
        health = detections.source_health()
        rules = detections.rules(health)
        runs = latest_runs(detections.run_history(limit=500))
        return pages.render(
            request,
            "rules.html",
            principal,
            rules=rules,
            runs=runs,
            health=health,
            blind=[r for r in rules if r.blind],
            findings=detections.findings,
        )

    @router.get("/rules/{rule_id}")
    def rule_page(request: Request, rule_id: str, principal: Reader) -> HTMLResponse:
        rule = detections.rule(rule_id)
        runs = detections.run_history(rule.id, limit=settings.history_limit)
        filters = detections.rule_filters(rule.id, runs)
        return pages.render(request, "rule.html", principal, rule=rule, runs=runs, filters=filters)

    return router
