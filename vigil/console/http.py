"""Mounting the console: sign-in and sign-out, the home redirect, static files, error pages, the role pages.

Console pages authenticate with the session cookie only (never an `Authorization` header), and every request
re-verifies the token it holds with the same `Verifier` the API uses.
"""

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import FormData

from compliance import Compliance
from detections import Detections
from edgeauth import AuditSink, Principal, Verifier
from evidence import EvidenceArchive
from siem import Pipeline
from vigil.console.analyst import create_analyst_router
from vigil.console.auditor import create_auditor_router
from vigil.console.errors import FormRejected, SignInRequired
from vigil.console.pages import FORM_ERRORS, HERE, NAV, Pages
from vigil.console.search import create_search_router
from vigil.console.session import Sessions
from vigil.console.settings import ConsoleSettings
from vigil.console.tuning import create_tuning_router
from vigil.problems import ErrorAnswers, Problem

PREFIX = "/console"


def safe_next(target: str | None) -> str:
    """Only a console path may be the place to go after sign-in (no open redirect)."""
    if target and target.startswith(PREFIX + "/") and "//" not in target and "\\" not in target:
        return target
    return PREFIX


def install_console(
    app: FastAPI,
    *,
    verifier: Verifier,
    settings: ConsoleSettings,
    detections: Detections,
    archive: EvidenceArchive,
    compliance: Compliance,
    ingest: Pipeline,
    errors: ErrorAnswers,
    csrf_key: Callable[[], bytes],
    audit: AuditSink | None = None,
) -> None:
    """Mount the console under `/console` on `app`; the app's error handler draws its errors as console pages.

    `csrf_key` is the HMAC key every replica shares; sign-ins go to `audit`.
    """
    sessions = Sessions(verifier, settings, csrf_key, audit)
    pages = Pages(sessions)
    app.include_router(_create_entry_router(sessions, pages))
    app.include_router(create_analyst_router(pages, detections, ingest, settings))
    app.include_router(create_search_router(pages, detections, settings.page_size))
    app.include_router(create_tuning_router(pages, detections))
    app.include_router(create_auditor_router(pages, archive, compliance, settings))
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")

    def error_page(request: Request, problem: Problem, exc: Exception) -> Response:
        if isinstance(exc, SignInRequired):
            target = f"{PREFIX}/login?next={quote(safe_next(request.url.path))}"
            if sessions.token(request) is not None:
                target += "&expired=1"
            redirect = RedirectResponse(target, status_code=303)
            sessions.forget(redirect)
            return redirect
        principal: Principal | None = getattr(request.state, "console_principal", None)
        page = pages.render(request, "error.html", principal, status=problem.status, message=problem.detail)
        page.headers.update(problem.headers)
        return page

    errors.render_pages_under(PREFIX, error_page)


def _create_entry_router(sessions: Sessions, pages: Pages) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    SignedIn = Annotated[Principal, Depends(pages.require())]
    Form = Annotated[FormData, Depends(pages.form())]

    @router.get("")
    def home(request: Request, principal: SignedIn) -> Response:
        first = next((item for item in NAV if item.scope in principal.scopes), None)
        if first is None:
            return pages.render(request, "error.html", principal, message="Your role has no console pages.")
        return RedirectResponse(first.href, status_code=303)

    @router.get("/login")
    def login_page(request: Request, next: str | None = None, expired: str | None = None) -> HTMLResponse:
        return _login(request, next=safe_next(next), expired=expired is not None)

    def _login(
        request: Request, *, next: str, expired: bool = False, error: str | None = None, status: int = 200
    ) -> HTMLResponse:
        nonce, new = sessions.signin_nonce(request)
        page = pages.render(
            request,
            "login.html",
            None,
            status=status,
            next=next,
            expired=expired,
            error=error,
            signin_csrf=sessions.csrf("signin:" + nonce),
        )
        if new:
            sessions.keep_nonce(page, request, nonce)
        return page

    @router.post("/login")
    async def login(request: Request) -> Response:
        try:
            form = await request.form(max_files=0, max_fields=10)
        except FORM_ERRORS as exc:
            return _login(request, next=PREFIX, error=f"the form could not be read: {type(exc).__name__}", status=400)
        target = safe_next(str(form.get("next") or ""))
        nonce = request.cookies.get(sessions.nonce_cookie, "")
        try:
            sessions.check_csrf("signin:" + nonce, form.get("csrf") if nonce else None)
            token = form.get("token")
            if not isinstance(token, str):
                raise FormRejected("paste an access token")
            principal = sessions.sign_in(request, token)
        except FormRejected as exc:
            return _login(request, next=target, error=str(exc), status=exc.status_code)
        response = RedirectResponse(target, status_code=303)
        sessions.keep(response, request, token, principal)
        return response

    @router.post("/logout")
    def logout(principal: SignedIn, form: Form) -> Response:
        response = RedirectResponse(f"{PREFIX}/login?done=signed-out", status_code=303)
        sessions.forget(response)
        return response

    return router
