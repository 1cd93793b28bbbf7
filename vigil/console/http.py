"""Mounting the console: sign-in and sign-out, the home redirect, static files, error pages, the role pages.

Console pages authenticate with the session cookie only (never an `Authorization` header), and every request
re-verifies the session's access token with the same `Verifier` the API uses.
"""

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from compliance import Compliance
from compliance.transparency import Transparency
from detections import Detections
from edgeauth import AuditSink, Principal, Verifier
from evidence import EvidenceArchive
from siem import Pipeline
from vigil.console.analyst import create_analyst_router
from vigil.console.auditor import create_auditor_router
from vigil.console.errors import SignInRequired
from vigil.console.pages import HERE, NAV, Pages
from vigil.console.search import create_search_router
from vigil.console.session import Sessions
from vigil.console.settings import ConsoleSettings
from vigil.console.signin import ConsoleClient, create_signin_router, safe_next
from vigil.console.store import SessionStore
from vigil.console.transparency import create_transparency_router
from vigil.console.tuning import create_tuning_router
from vigil.problems import ErrorAnswers, Problem

PREFIX = "/console"


def install_console(
    app: FastAPI,
    *,
    verifier: Verifier,
    settings: ConsoleSettings,
    detections: Detections,
    archive: EvidenceArchive,
    compliance: Compliance,
    transparency: Transparency,
    ingest: Pipeline,
    errors: ErrorAnswers,
    csrf_key: Callable[[], bytes],
    store: SessionStore,
    client: ConsoleClient,
    audit: AuditSink | None = None,
) -> None:
    """Mount the console under `/console` on `app`; the app's error handler draws its errors as console pages.

    `csrf_key` is the HMAC key every replica shares; `store` keeps sessions in Redis; `client` signs people in at
    the provider; sign-ins and sign-outs go to `audit`.
    """
    sessions = Sessions(verifier, settings, store, csrf_key, audit)
    sessions.refresher = client.refresh
    pages = Pages(sessions)
    app.include_router(create_signin_router(sessions, pages, store, client))
    app.include_router(_create_home_router(pages))
    app.include_router(create_analyst_router(pages, detections, ingest, settings))
    app.include_router(create_search_router(pages, detections, settings.page_size))
    app.include_router(create_tuning_router(pages, detections))
    app.include_router(create_auditor_router(pages, archive, compliance, settings))
    app.include_router(create_transparency_router(pages, transparency))
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")

    def error_page(request: Request, problem: Problem, exc: Exception) -> Response:
        if isinstance(exc, SignInRequired):
            target = f"{PREFIX}/login?next={quote(safe_next(request.url.path))}"
            if sessions.session_id(request) is not None:
                target += "&expired=1"
            redirect = RedirectResponse(target, status_code=303)
            sessions.forget(redirect)
            return redirect
        principal: Principal | None = getattr(request.state, "console_principal", None)
        page = pages.render(request, "error.html", principal, status=problem.status, message=problem.detail)
        page.headers.update(problem.headers)
        return page

    errors.render_pages_under(PREFIX, error_page)


def _create_home_router(pages: Pages) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    SignedIn = Annotated[Principal, Depends(pages.require())]

    @router.get("")
    def home(request: Request, principal: SignedIn) -> Response:
        first = next((item for item in NAV if item.scope in principal.scopes), None)
        if first is None:
            return pages.render(request, "error.html", principal, message="Your role has no console pages.")
        return RedirectResponse(first.href, status_code=303)

    return router
