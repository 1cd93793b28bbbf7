"""The issuer's browser-facing routes: the authorization endpoint, the login and consent pages, RP-initiated
logout, and the userinfo endpoint. Server-rendered (jinja2, autoescaped), no inline script or style, the console's
Content-Security-Policy, a CSRF token on every form, and cookies that hold only opaque ids.

Each route parses its input here (a strict query or form: bounded, no repeated parameter) and runs the
synchronous issuer parts in a worker thread.
"""

# No `from __future__ import annotations`: FastAPI must resolve the userinfo route's `Annotated` guard at runtime.
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from edgeauth.edge.http import Guard
from edgeauth.edge.request import ClientAddress
from edgeauth.issuer.authority import END_SESSION_PATH, USERINFO_PATH, Issuer
from edgeauth.issuer.authorize import AUTHORIZE_PATH, Outcome
from edgeauth.issuer.end_session import Logout, confirmation_token
from edgeauth.issuer.errors import IssuerError, RateLimited
from edgeauth.issuer.oidc import user_claims
from edgeauth.issuer.server import FORM_CONTENT_TYPE, parse_form
from edgeauth.models import Principal

if TYPE_CHECKING:
    from edgeauth.issuer.login import SignIn, Step

LOGIN_PATH = "/oauth/login"
CONSENT_PATH = "/oauth/consent"
STATIC_PATH = "/oauth/static"
HERE = Path(__file__).resolve().parent
# The console's policy: the page loads only its own stylesheet, runs no script, cannot be framed, posts only here.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
# Client redirects leave no referrer (the code is in the URL) and are never cached.
REDIRECT_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class UpstreamButton(BaseModel):
    """One "Sign in with <IdP>" link on the login page."""

    model_config = ConfigDict(frozen=True)

    label: str
    href: str


class UpstreamSignIn(Protocol):
    """The federation's slot on the login page: the buttons to show for a pending request (none by default)."""

    def buttons(self, pending_id: str) -> list[UpstreamButton]: ...


class _NoUpstreams:
    def buttons(self, pending_id: str) -> list[UpstreamButton]:
        return []


class Pages:
    """Template rendering with the security headers and the browser's pre-session (CSRF) cookie."""

    def __init__(self, issuer: Issuer, upstreams: UpstreamSignIn | None = None) -> None:
        self._issuer = issuer
        self._upstreams = upstreams or _NoUpstreams()
        self._env = Environment(
            loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True), auto_reload=False
        )
        settings = issuer.settings.oauth
        self.cookie = settings.sso_cookie_name
        self.browser_cookie = settings.sso_cookie_name + "_browser"
        self.secure = not settings.sso_cookie_insecure
        self.session_ttl = settings.person_session_ttl

    def outcome(self, request: Request, outcome: Outcome) -> Response:
        """The browser's answer to an authorization outcome: a redirect, the login page, the consent page, an error."""
        if outcome.redirect is not None:
            return RedirectResponse(outcome.redirect, status_code=302, headers=REDIRECT_HEADERS)
        if outcome.page == "login" and outcome.pending_id:
            return RedirectResponse(
                f"{LOGIN_PATH}?pending={outcome.pending_id}", status_code=302, headers=REDIRECT_HEADERS
            )
        if outcome.page == "consent" and outcome.pending_id:
            return self._consent(request, outcome)
        return self.render("error", status=outcome.status, message=outcome.message)

    def _consent(self, request: Request, outcome: Outcome) -> Response:
        assert outcome.pending_id is not None
        assert outcome.client is not None
        pending = self._issuer.browser.pending(outcome.pending_id)
        if pending is None:
            return self.render("error", status=400, message="this sign-in expired; start again from the application")
        browser, new = self.browser_id(request)
        response = self.render(
            "consent",
            pending=outcome.pending_id,
            csrf=self._issuer.browser.csrf_token(pending, browser),
            client=outcome.client,
            scopes=outcome.scopes,
        )
        if new:
            self.keep_browser(response, browser)
        return response

    def step(self, request: Request, pending_id: str, step: "Step") -> Response:
        """The browser's answer to a login step; once signed in, the session cookie and the authorization outcome.

        The federation's callback ends here too: `issuer.sign_in.complete(...)` then `pages.step(...)`.
        """
        if step.outcome is not None:
            response = self.outcome(request, step.outcome)
            if step.session_cookie is not None:
                self.keep_session(response, step.session_cookie)
            return response
        pending = self._issuer.browser.pending(pending_id)
        if pending is None or step.page == "error":
            return self.render(
                "error",
                status=step.status if step.page == "error" else 400,
                message=step.error or "this sign-in expired",
            )
        browser, new = self.browser_id(request)
        headers = {"Retry-After": str(step.retry_after)} if step.retry_after else None
        response = self.render(
            step.page,
            status=step.status,
            headers=headers,
            pending=pending_id,
            csrf=self._issuer.browser.csrf_token(pending, browser),
            step=step,
            upstreams=self._upstreams.buttons(pending_id) if step.page == "login" else [],
            client_id=pending.params.get("client_id", ""),
        )
        if new:
            self.keep_browser(response, browser)
        return response

    def render(
        self, template: str, *, status: int = 200, headers: dict[str, str] | None = None, **context: Any
    ) -> HTMLResponse:
        body = self._env.get_template(template + ".html").render(static=STATIC_PATH, **context)
        return HTMLResponse(body, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})

    def browser_id(self, request: Request) -> tuple[str, bool]:
        """This browser's pre-session id (the CSRF binding), and whether it is new and must be set."""
        current = request.cookies.get(self.browser_cookie, "")
        if 20 <= len(current) <= 64 and current.isascii():
            return current, False
        return secrets.token_urlsafe(24), True

    def keep_browser(self, response: Response, browser: str) -> None:
        response.set_cookie(
            self.browser_cookie, browser, httponly=True, secure=self.secure, samesite="strict", path="/oauth"
        )

    def keep_session(self, response: Response, cookie: str) -> None:
        response.set_cookie(
            self.cookie,
            cookie,
            max_age=self.session_ttl,
            httponly=True,
            secure=self.secure,
            samesite="lax",
            path="/oauth",
        )

    def forget_session(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path="/oauth", httponly=True, secure=self.secure, samesite="lax")


async def _read(request: Request, max_bytes: int) -> dict[str, str]:
    """The request's parameters: the query on GET, the url-encoded body on POST (RFC 6749 3.1, OIDC Core 3.1.2.1)."""
    content_type: str | None
    if request.method == "GET":
        raw, content_type = request.url.query.encode("latin-1", "replace"), FORM_CONTENT_TYPE
    else:
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > max_bytes:
                break
        raw, content_type = bytes(body), request.headers.get("content-type")
    form, audiences = parse_form(raw, content_type, max_bytes=max_bytes)
    if audiences:
        raise IssuerError("resource and audience are not authorization request parameters here")
    return form


def create_pages_router(issuer: Issuer, pages: Pages, *, guard: Guard | None = None) -> APIRouter:
    """Routes of people's sign-in, rendered by `pages`; `guard` (the app's verifier) protects userinfo."""
    router = APIRouter(tags=["edgeauth issuer"])
    max_bytes = issuer.settings.oauth.max_form_bytes
    clients = ClientAddress(issuer.settings.trusted_proxies)
    sign_in: SignIn | None = issuer.sign_in  # a local annotation: never evaluated, so TYPE_CHECKING suffices

    def source(request: Request) -> str | None:
        return clients.resolve(
            request.client.host if request.client else None,
            request.headers.get("x-real-ip"),
            request.headers.get("x-forwarded-for"),
        )

    async def params_or_page(request: Request, *, metered: bool = False) -> dict[str, str] | Response:
        """The parameters, or the page refusing them. `metered` requests count against the source address's
        request rate (the token endpoint's window): each may store a pending sign-in or cost a password hash."""
        try:
            if metered:
                await run_in_threadpool(issuer.limiter.check, client_id=None, source_ip=source(request))
            return await _read(request, max_bytes)
        except RateLimited as exc:
            headers = {"Retry-After": str(exc.retry_after)}
            return pages.render("error", status=429, headers=headers, message="too many requests; wait and retry")
        except IssuerError as exc:
            return pages.render("error", status=exc.status_code, message=str(exc))

    @router.api_route(AUTHORIZE_PATH, methods=["GET", "POST"], include_in_schema=False)
    async def authorize(request: Request) -> Response:
        params = await params_or_page(request, metered=True)
        if isinstance(params, Response):
            return params
        cookie = request.cookies.get(pages.cookie)
        outcome = await run_in_threadpool(issuer.authorizer.authorize, params, cookie)
        return pages.outcome(request, outcome)

    @router.get(LOGIN_PATH, include_in_schema=False)
    async def login_page(request: Request, pending: str = "") -> Response:
        current = await run_in_threadpool(issuer.browser.pending, pending)
        if current is None or sign_in is None:
            return pages.render(
                "error", status=400, message="this sign-in expired or never began; start again from the application"
            )
        if current.stage == "consent":
            # Signed in already (here or upstream): the request goes on to the consent page or its code.
            cookie = request.cookies.get(pages.cookie)
            outcome = await run_in_threadpool(
                lambda: issuer.authorizer.authorize(current.params, cookie, pending_id=pending, pending=current)
            )
            return pages.outcome(request, outcome)
        step = await run_in_threadpool(sign_in.page, current)
        return pages.step(request, pending, step)

    @router.post(LOGIN_PATH, include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await params_or_page(request, metered=True)
        if isinstance(form, Response):
            return form
        pending_id = form.get("pending", "")
        current = await run_in_threadpool(issuer.browser.pending, pending_id)
        if current is None or sign_in is None:
            return pages.render(
                "error", status=400, message="this sign-in expired or never began; start again from the application"
            )
        if not issuer.browser.csrf_ok(current, request.cookies.get(pages.browser_cookie), form.get("csrf")):
            return pages.render("error", status=403, message="the form expired; go back and sign in again")
        step = await run_in_threadpool(sign_in.submit, pending_id, current, form, source_ip=source(request))
        return pages.step(request, pending_id, step)

    @router.post(CONSENT_PATH, include_in_schema=False)
    async def consent(request: Request) -> Response:
        form = await params_or_page(request)
        if isinstance(form, Response):
            return form
        pending_id = form.get("pending", "")
        current = await run_in_threadpool(issuer.browser.pending, pending_id)
        if current is None:
            return pages.render("error", status=400, message="this sign-in expired; start again from the application")
        if not issuer.browser.csrf_ok(current, request.cookies.get(pages.browser_cookie), form.get("csrf")):
            return pages.render("error", status=403, message="the form expired; go back and try again")
        cookie = request.cookies.get(pages.cookie)
        outcome = await run_in_threadpool(
            issuer.authorizer.consent, pending_id, current, cookie, form.get("decision") == "allow"
        )
        return pages.outcome(request, outcome)

    @router.api_route(END_SESSION_PATH, methods=["GET", "POST"], include_in_schema=False)
    async def end_session(request: Request) -> Response:
        params = await params_or_page(request)
        if isinstance(params, Response):
            return params
        cookie = request.cookies.get(pages.cookie)
        confirmed = params.get("confirm") if request.method == "POST" else None
        logout: Logout = await run_in_threadpool(issuer.end_session, params, cookie, confirmed, source(request))
        if logout.page == "confirm_logout":
            assert cookie is not None
            return pages.render("confirm_logout", confirm=confirmation_token(cookie), params=params)
        response: Response
        if logout.redirect is not None:
            response = RedirectResponse(logout.redirect, status_code=302, headers=REDIRECT_HEADERS)
        else:
            response = pages.render(logout.page, status=logout.status, message=logout.message)
        if logout.ended is not None:
            pages.forget_session(response)
        return response

    if guard is not None:
        OpenId = Annotated[Principal, Depends(guard.require("openid"))]

        def claims_of(principal: Principal) -> Response:
            account = issuer.server.person(principal.subject)
            if account is None:
                # The person is gone or disabled since the token was minted: the token speaks for nobody now.
                return JSONResponse(
                    {"error": "invalid_token", "error_description": "this person can no longer sign in"},
                    status_code=401,
                    headers={"WWW-Authenticate": f'Bearer realm="{issuer.settings.realm}", error="invalid_token"'},
                )
            return JSONResponse(
                dict(user_claims(account, set(principal.scopes))), headers={"Cache-Control": "no-store"}
            )

        # OpenID Connect Core 5.3.1: GET and POST alike (two operations, so each has its own id in the schema).
        @router.get(USERINFO_PATH, summary="OpenID Connect UserInfo")
        def userinfo(principal: OpenId) -> Response:
            return claims_of(principal)

        @router.post(USERINFO_PATH, summary="OpenID Connect UserInfo (POST)")
        def userinfo_post(principal: OpenId) -> Response:
            return claims_of(principal)

    return router


def install_issuer_pages(
    app: FastAPI, issuer: Issuer, *, guard: Guard | None = None, upstreams: UpstreamSignIn | None = None
) -> Pages:
    """Mount people's sign-in on `app`: the routes above and the login page's stylesheet. `upstreams` fills the
    login page's federation slot; the returned `Pages` renders the federation's own callback answers."""
    pages = Pages(issuer, upstreams)
    app.include_router(create_pages_router(issuer, pages, guard=guard))
    app.mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="issuer-static")
    return pages
