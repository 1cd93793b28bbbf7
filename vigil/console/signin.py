"""The console's sign-in: an OpenID Connect relying party of Vigil's own issuer (code flow, PKCE S256).

`GET /console/login` puts a pending sign-in (state, nonce, PKCE verifier, where to go after, and a digest of this
browser's sign-in cookie) in Redis and sends the browser to the provider's authorization endpoint.
`GET /console/callback` takes the pending sign-in back by its state (one use, ten minutes, this browser only),
exchanges the code, validates the ID token, and opens a new server-side session under a new id.
`POST /console/logout` (CSRF-checked) closes the session, revokes its refresh token (RFC 7009) and sends the
browser to the provider's end-session endpoint, which returns it to the sign-in page.

The relying party is built on first use: the provider is usually this very app, which does not answer discovery
until it has started.
"""

import hmac
import logging
import re
import threading
from collections.abc import Callable
from typing import Annotated, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import SecretStr
from starlette.datastructures import FormData

from edgeauth import Principal
from edgeauth.issuer.digest import digest
from vigil.console.errors import FormRejected, NotFound, NotRegistered, RoleRefused, SignInRequired
from vigil.console.pages import FORM_ERRORS, Pages
from vigil.console.session import Sessions
from vigil.console.settings import ConsoleSettings
from vigil.console.store import ConsoleSession, SessionStore
from vigil.signin import ProviderRefused, RelyingParty, SignInError, TokenSet

PREFIX = "/console"
MAX_STATE_CHARS = 256
MAX_CODE_CHARS = 2048
# An OAuth error code is shown on the page; only its registered shape is (RFC 6749 4.1.2.1: NQSCHAR without spaces).
OAUTH_ERROR = re.compile(r"^[a-z_]{1,64}$")
log = logging.getLogger(__name__)
T = TypeVar("T")


def safe_next(target: str | None) -> str:
    """Only a console path may be the place to go after sign-in (no open redirect)."""
    if target and target.startswith(PREFIX + "/") and "//" not in target and "\\" not in target:
        return target
    return PREFIX


class ConsoleClient:
    """The console as a confidential client of the provider; `secret` reads the sealed client secret."""

    def __init__(self, settings: ConsoleSettings, issuer: str, secret: Callable[[], SecretStr | None]) -> None:
        self.settings = settings
        self.issuer = settings.issuer or issuer
        origin = settings.public_url or _origin(self.issuer)
        self.redirect_uri = f"{origin}{PREFIX}/callback"
        self.post_logout_redirect_uri = f"{origin}{PREFIX}/login?done=signed-out"
        self._secret = secret
        self._party: RelyingParty | None = None
        self._lock = threading.Lock()

    def party(self) -> RelyingParty:
        with self._lock:
            if self._party is None:
                secret = self.settings.client_secret or self._secret()
                if secret is None:
                    raise NotRegistered(
                        "the console is not registered with the identity provider yet: run `vigil console register`"
                    )
                self._party = RelyingParty(
                    self.issuer, self.settings.client_id, client_secret=secret, scope=self.settings.scope
                )
            return self._party

    def authenticated(self, call: Callable[[RelyingParty], T]) -> T:
        """`call` with the client secret as stored now: refused as `invalid_client` (the secret was rotated by
        `vigil console register` since this replica read it), the secret is read again and `call` retried once."""
        try:
            return call(self.party())
        except ProviderRefused as exc:
            if exc.oauth_error != "invalid_client":
                raise
        with self._lock:
            self._party = None
        return call(self.party())

    def refresh(self, session: ConsoleSession) -> TokenSet:
        refresh_token = session.refresh_token
        if refresh_token is None:
            raise SignInRequired("your session has no refresh token; sign in again")
        return self.authenticated(lambda party: party.refresh(refresh_token, subject=session.subject))


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def create_signin_router(sessions: Sessions, pages: Pages, store: SessionStore, client: ConsoleClient) -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    settings = sessions.settings
    SignedIn = Annotated[Principal, Depends(pages.require())]
    Form = Annotated[FormData, Depends(pages.form())]

    def page(
        request: Request, *, next: str, expired: bool = False, error: str | None = None, status: int = 200
    ) -> HTMLResponse:
        nonce, new = sessions.browser_nonce(request)
        answer = pages.render(
            request,
            "login.html",
            None,
            status=status,
            next=next,
            start=f"{PREFIX}/login?start=1&next={quote(next)}",
            expired=expired,
            error=error,
            paste=settings.dev_token_paste,
            signin_csrf=sessions.csrf("signin:" + nonce),
        )
        if new:
            sessions.keep_browser_nonce(answer, request, nonce)
        return answer

    def begin(request: Request, target: str) -> Response:
        nonce, new = sessions.browser_nonce(request)
        started = client.party().begin(client.redirect_uri)
        store.put_pending(started, next=target, browser=nonce)
        answer = RedirectResponse(started.url, status_code=303)
        answer.headers["Cache-Control"] = "no-store"
        if new:
            sessions.keep_browser_nonce(answer, request, nonce)
        return answer

    @router.get("/login")
    def login_page(
        request: Request,
        next: str | None = None,
        expired: str | None = None,
        done: str | None = None,
        start: str | None = None,
    ) -> Response:
        """Starts the code flow, unless there is something to say first (signed out, session ended, paste on)."""
        target = safe_next(next)
        if start is None and (expired is not None or done is not None or settings.dev_token_paste):
            return page(request, next=target, expired=expired is not None)
        try:
            return begin(request, target)
        except SignInError as exc:
            return page(request, next=target, error=str(exc), status=exc.status_code)

    @router.post("/login")
    async def paste(request: Request) -> Response:
        """Development only (`dev_token_paste`): sign in with a pasted access token."""
        if not settings.dev_token_paste:
            raise NotFound("token paste is a development setting and it is off: use Sign in")
        try:
            form = await request.form(max_files=0, max_fields=10)
        except FORM_ERRORS as exc:
            return page(request, next=PREFIX, error=f"the form could not be read: {type(exc).__name__}", status=400)
        target = safe_next(str(form.get("next") or ""))
        nonce = request.cookies.get(sessions.browser_cookie, "")
        try:
            sessions.check_csrf("signin:" + nonce, form.get("csrf") if nonce else None)
            token = form.get("token")
            if not isinstance(token, str):
                raise FormRejected("paste an access token")
            session_id, _ = sessions.open_pasted(request, token)
        except (FormRejected, RoleRefused) as exc:
            return page(request, next=target, error=str(exc), status=exc.status_code)
        return _signed_in(request, target, session_id)

    def _signed_in(request: Request, target: str, session_id: str) -> Response:
        # Session fixation: whatever id the browser brought is closed; only the new one is set.
        previous = sessions.session_id(request)
        if previous is not None:
            store.close(previous)
        answer = RedirectResponse(target, status_code=303)
        sessions.keep(answer, request, session_id)
        return answer

    @router.get("/callback")
    def callback(
        request: Request,
        state: str | None = None,
        code: str | None = None,
        error: str | None = None,
    ) -> Response:
        """The provider's redirect back: this browser's own, unused, recent sign-in, then the code exchange."""
        pending = store.take_pending(state) if state and len(state) <= MAX_STATE_CHARS else None
        browser = request.cookies.get(sessions.browser_cookie, "")
        if pending is None or not hmac.compare_digest(digest(browser).encode(), pending.browser.encode()):
            message = "this sign-in was not started in this browser, was already used, or is over ten minutes old"
            return page(request, next=PREFIX, error=f"{message}; sign in again", status=400)
        if error is not None or not code or len(code) > MAX_CODE_CHARS:
            shown = error if error is not None and OAUTH_ERROR.match(error) else "no authorization code"
            return page(request, next=pending.next, error=f"the sign-in was not completed ({shown})", status=400)
        try:
            tokens = client.authenticated(lambda party: party.finish(pending.request(), code))
        except SignInError as exc:
            return page(request, next=pending.next, error=str(exc), status=exc.status_code)
        try:
            session_id, _ = sessions.open_oidc(request, tokens)
        except (RoleRefused, FormRejected):
            _revoke(tokens.refresh_token)
            raise
        return _signed_in(request, pending.next, session_id)

    @router.post("/logout")
    def logout(request: Request, principal: SignedIn, form: Form) -> Response:
        """Close the session, revoke its refresh token, then sign out at the provider too."""
        session = sessions.close(request)
        target = f"{PREFIX}/login?done=signed-out"
        if session is not None and session.via == "oidc":
            _revoke(session.refresh_token)
            try:
                ended = client.party().end_session_url(
                    id_token_hint=session.id_token, post_logout_redirect_uri=client.post_logout_redirect_uri
                )
            except SignInError:
                ended = None
            target = ended or target
        answer = RedirectResponse(target, status_code=303)
        sessions.forget(answer)
        return answer

    def _revoke(refresh_token: SecretStr | None) -> None:
        """Best effort after the session is gone: a provider that cannot be reached is logged, not shown."""
        if refresh_token is None:
            return
        try:
            client.authenticated(lambda party: party.revoke(refresh_token))
        except SignInError as exc:
            log.warning("console sign-out: the refresh token was not revoked: %s", exc)

    return router
