"""Rendering and gating shared by every console page: templates, the signed-in principal, CSRF-checked forms."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from edgeauth import Principal
from vigil.console.errors import FormRejected, InvalidField
from vigil.console.session import Sessions

HERE = Path(__file__).resolve().parent
MAX_FORM_FIELDS = 600
# What reading a hostile form body raises: starlette's 400 for a bad multipart body, the parser's own, bad UTF-8.
FORM_ERRORS = (HTTPException, MultiPartException, UnicodeDecodeError)
# Pages load only their own stylesheet and script: no inline code, no framing, nothing from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    scope: str


NAV = (
    NavItem("/console/overview", "Overview", "alerts:read"),
    NavItem("/console/alerts", "Alert queue", "alerts:read"),
    NavItem("/console/events", "Event search", "alerts:read"),
    NavItem("/console/rules", "Rules", "alerts:read"),
    NavItem("/console/controls", "Controls", "compliance:read"),
    NavItem("/console/bundles", "Evidence bundles", "evidence:read"),
    NavItem("/console/transparency", "Transparency", "compliance:read"),
)

# Outcomes of a form post, shown once after the redirect; a fixed list so no text is reflected from the URL.
NOTICES = {
    "acknowledged": "Alert acknowledged.",
    "bulk": "Selected alerts acknowledged.",
    "resolved": "Alert resolved.",
    "assigned": "Assignee saved.",
    "noted": "Note added.",
    "exception-added": "Exception added: it applies to the rule's next runs on every worker.",
    "exception-deleted": "Exception deleted: the rule matches these events again from its next run.",
    "signed-out": "You are signed out.",
}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested event JSON as dotted ECS field names (`source.ip`), lists kept whole."""
    if not isinstance(value, Mapping):
        return {prefix: value} if prefix else {}
    out: dict[str, Any] = {}
    for key, inner in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(inner, Mapping) and inner:
            out.update(flatten(inner, name))
        else:
            out[name] = inner
    return out


def when(moment: datetime | str | None) -> str:
    """A timestamp as people read it in a table: UTC, to the second."""
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return str(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def span(first: datetime, last: datetime) -> str:
    """How long an alert's events lasted, from its exact first and last event: `1 h 2 min 5 s`, `0 s`."""
    total = max(int((last - first).total_seconds()), 0)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    parts += [f"{seconds} s"] if seconds or not parts else []
    return " ".join(parts)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def moment(text: str | None) -> str | None:
    """A `datetime-local` field (no zone) is read as UTC; anything with a zone is kept."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidField(f"{text!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def text_field(form: FormData, name: str, *, required: bool = False) -> str | None:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise InvalidField(f"{name} must not be empty")
    return text or None


class Pages:
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.templates = Jinja2Templates(directory=HERE / "templates")
        self.templates.env.filters["when"] = when
        self.templates.env.filters["pretty"] = pretty
        self.templates.env.globals["span"] = span

    def require(self, *scopes: str) -> Callable[[Request], Principal]:
        """A FastAPI dependency: the session's principal holding every scope (else sign-in or a 403 page)."""
        sessions = self.sessions

        def signed_in(request: Request) -> Principal:
            principal = sessions.principal(request, scopes)
            request.state.console_principal = principal
            return principal

        return signed_in

    def form(self) -> Callable[[Request], Awaitable[FormData]]:
        """A FastAPI dependency (declare it after the principal): the posted form, CSRF-checked for this session."""
        sessions = self.sessions

        async def checked(request: Request) -> FormData:
            try:
                form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
            except Exception as exc:
                raise FormRejected(f"the form could not be read: {type(exc).__name__}") from None
            sessions.check_csrf(sessions.session_binding(request), form.get("csrf"))
            return form

        return checked

    def render(
        self, request: Request, template: str, principal: Principal | None, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        scopes = principal.scopes if principal is not None else frozenset()
        notice = NOTICES.get(request.query_params.get("done", ""))
        response = self.templates.TemplateResponse(
            request,
            template,
            {
                "principal": principal,
                "scopes": scopes,
                "nav": [item for item in NAV if item.scope in scopes],
                "csrf": self.sessions.csrf(self.sessions.session_binding(request)) if principal else "",
                "notice": notice,
                "path": request.url.path,
                **context,
            },
            status_code=status,
        )
        response.headers.update(SECURITY_HEADERS)
        return response
