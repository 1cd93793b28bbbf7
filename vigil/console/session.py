"""Console sessions: an opaque cookie naming a server-side session (`store.py`) that holds the person's tokens.

Each request finds its session by the cookie, restarts the idle clock, refreshes the access token server-side
with the session's refresh token when it is about to expire, and re-verifies the access token with the same
`Verifier` the API uses, so the person's scopes (their roles) come from the token itself and a revocation at the
issuer ends the session at the next click. Nothing but the random id ever reaches the browser.

Forms carry a CSRF token: an HMAC of the session id's digest (before sign-in: of a random nonce in its own
cookie), so a form is only good for the session that rendered it. The HMAC key is one shared secret (sealed in
Redis, `edgeauth.SharedSecret`), so a form rendered by one replica posts to any other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from fastapi import Request, Response
from pydantic import SecretStr
from redis.exceptions import LockError

from edgeauth import AuditEvent, AuditSink, ClientAddress, Principal, RequestContext, VerificationError, Verifier
from edgeauth.edge.http import request_context
from edgeauth.issuer.digest import digest
from edgeauth.people import PeopleEvents
from vigil.console.errors import FormRejected, RoleRefused, SessionBusy, SignInRequired
from vigil.console.settings import ConsoleSettings
from vigil.console.store import ConsoleSession, SessionStore
from vigil.signin import ProviderRefused, TokenSet

# Scopes that open at least one console page; a token with none of them has nothing to see here.
CONSOLE_SCOPES = frozenset({"alerts:read", "alerts:triage", "evidence:read", "compliance:read"})
MAX_TOKEN_CHARS = 8192
MAX_COOKIE_CHARS = 64
# Refresh this long before the access token expires, so a page never verifies a token that dies mid-request.
REFRESH_MARGIN_SECONDS = 30

Refresher = Callable[[ConsoleSession], TokenSet]


class Sessions:
    """Finds, opens, refreshes and closes console sessions; sets and clears their cookies; issues CSRF tokens."""

    def __init__(
        self,
        verifier: Verifier,
        settings: ConsoleSettings,
        store: SessionStore,
        csrf_key: Callable[[], bytes],
        audit: AuditSink | None = None,
    ) -> None:
        """`csrf_key` gives the shared HMAC key (read once from Redis on first use, then kept)."""
        self.verifier = verifier
        self.clients = ClientAddress(verifier.settings.trusted_proxies)
        self.settings = settings
        self.store = store
        self._key = csrf_key
        self._audit = audit
        self._people = PeopleEvents(audit)
        self.refresher: Refresher | None = None

    @property
    def browser_cookie(self) -> str:
        return f"{self.settings.cookie_name}_signin"

    def session_id(self, request: Request) -> str | None:
        value = request.cookies.get(self.settings.cookie_name)
        return value if value and len(value) <= MAX_COOKIE_CHARS else None

    # -- each request -------------------------------------------------------------------------------------------

    def principal(self, request: Request, scopes: Iterable[str] = ()) -> Principal:
        """The principal of the session's access token holding every scope, else `SignInRequired` / `RoleRefused`."""
        session_id = self.session_id(request)
        if session_id is None:
            raise SignInRequired("sign in to use the console")
        session, ended = self.store.get(session_id)
        if session is None or ended is not None:
            if session is not None:
                self._record("console-session-ended", session, reason=f"{ended} timeout", request=request)
            raise SignInRequired(_ended_message(ended, self.settings))
        if session.access_expires_at - time.time() < REFRESH_MARGIN_SECONDS and session.refresh_token is not None:
            session = self._refreshed(session_id)
        try:
            principal = self.verifier.verify(
                session.access_token.get_secret_value(), tuple(scopes), context=self._context(request)
            )
        except VerificationError as exc:
            if exc.status_code == 403:
                raise RoleRefused(f"your role may not open this page ({exc.description})") from None
            self.store.close(session_id)
            self._record("console-session-ended", session, reason=exc.description, request=request)
            raise SignInRequired(f"your session ended: {exc.description}; sign in again") from None
        return principal

    def _refreshed(self, session_id: str) -> ConsoleSession:
        """A fresh access token from the refresh token, under a lock: one rotation per session, never two."""
        if self.refresher is None:
            raise SignInRequired("your session's token expired; sign in again")
        try:
            with self.store.refresh_lock(session_id):
                current, ended = self.store.get(session_id)
                if current is None or ended is not None:
                    raise SignInRequired(_ended_message(ended, self.settings))
                if current.access_expires_at - time.time() >= REFRESH_MARGIN_SECONDS or current.refresh_token is None:
                    return current  # another request refreshed it while we waited
                try:
                    tokens = self.refresher(current)
                except ProviderRefused as exc:
                    self.store.close(session_id)
                    self._record("console-session-ended", current, reason=f"refresh refused: {exc.oauth_error}")
                    raise SignInRequired(f"your session ended ({exc.oauth_error or exc}); sign in again") from None
                updated = current.model_copy(
                    update={
                        "access_token": tokens.access_token,
                        "access_expires_at": tokens.expires_at,
                        "refresh_token": tokens.refresh_token or current.refresh_token,
                        "id_token": tokens.id_token or current.id_token,
                    }
                )
                self.store.replace(session_id, updated)
                return updated
        except LockError:
            raise SessionBusy("your session is being refreshed by another request; reload the page") from None

    # -- sign-in and sign-out -----------------------------------------------------------------------------------

    def open_oidc(self, request: Request, tokens: TokenSet) -> tuple[str, Principal]:
        """A new session for a completed code flow; refused when the access token opens no console page."""
        principal = self._console_principal(request, tokens.access_token.get_secret_value())
        claims = tokens.claims
        session_id, session = self.store.open(
            subject=principal.subject,
            display_name=claims.display if claims else principal.subject,
            via="oidc",
            access_token=tokens.access_token,
            access_expires_at=tokens.expires_at,
            refresh_token=tokens.refresh_token,
            id_token=tokens.id_token,
        )
        self._record("console-signed-in", session, scopes=principal.scopes)
        return session_id, principal

    def open_pasted(self, request: Request, token: str) -> tuple[str, Principal]:
        """Development only (`dev_token_paste`): a session around a pasted access token, no refresh."""
        token = token.strip()
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise FormRejected("paste an access token (a JWT of at most 8192 characters)")
        principal = self._console_principal(request, token)
        session_id, session = self.store.open(
            subject=principal.subject,
            display_name=principal.subject,
            via="token-paste",
            access_token=SecretStr(token),
            access_expires_at=int(principal.expires_at.timestamp()),
        )
        self._record("console-signed-in", session, scopes=principal.scopes)
        return session_id, principal

    def _console_principal(self, request: Request, token: str) -> Principal:
        try:
            principal = self.verifier.verify(token, (), context=self._context(request))
        except VerificationError as exc:
            raise FormRejected(f"that token was refused: {exc.description}") from None
        if not principal.scopes & CONSOLE_SCOPES:
            self._refused(principal)
            raise RoleRefused("your account holds no role the console serves (analyst or auditor)")
        return principal

    def close(self, request: Request) -> ConsoleSession | None:
        """End the browser's session (its refresh token is the caller's to revoke); None when there was none."""
        session_id = self.session_id(request)
        session = self.store.close(session_id) if session_id else None
        if session is not None:
            self._record("console-signed-out", session, request=request)
        return session

    # -- audit --------------------------------------------------------------------------------------------------

    def _record(
        self,
        action: str,
        session: ConsoleSession,
        *,
        reason: str | None = None,
        scopes: Iterable[str] = (),
        request: Request | None = None,
    ) -> None:
        """Who holds a console session is an audited fact. Opening one is the console's own event (the sign-in
        itself is the provider's); its end speaks edgeauth's people vocabulary: `sign-out` by the person,
        `session-revoked` by a timeout, a refused refresh or a revoked token."""
        source_ip = self._context(request).source_ip if request is not None else None
        if action == "console-signed-out":
            self._people.signed_out(session.subject, source_ip=source_ip, client_id=self.settings.client_id)
            return
        if action == "console-session-ended":
            self._people.session_revoked(
                session.subject, actor="console", reason=reason or "ended", source_ip=source_ip
            )
            return
        if self._audit is None:
            return
        self._audit.emit(
            [
                AuditEvent(
                    timestamp=datetime.now(UTC),
                    provider="console",
                    action=action,
                    category="session",
                    type="start",
                    outcome="success",
                    actor=session.subject,
                    target=f"session:{session.via}:{int(session.created_at)}",
                    reason=reason,
                    after={"scopes": sorted(scopes)} if scopes else None,
                )
            ]
        )

    def _refused(self, principal: Principal) -> None:
        if self._audit is None:
            return
        self._audit.emit(
            [
                AuditEvent(
                    timestamp=datetime.now(UTC),
                    provider="console",
                    action="console-signed-in",
                    category="iam",
                    type="denied",
                    outcome="failure",
                    actor=principal.subject,
                    client_id=principal.client_id,
                    target=f"session:{principal.token_id or principal.subject}",
                    reason="no-console-scope",
                    after={"scopes": sorted(principal.scopes)},
                )
            ]
        )

    # -- cookies ------------------------------------------------------------------------------------------------

    def _secure(self, request: Request) -> bool:
        if self.settings.secure_cookie != "auto":
            return self.settings.secure_cookie == "always"
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return request.url.scheme == "https" or forwarded == "https"

    def keep(self, response: Response, request: Request, session_id: str) -> None:
        """The session cookie: Lax, so the provider's redirect back (a top-level GET) still carries it."""
        response.set_cookie(
            self.settings.cookie_name,
            session_id,
            max_age=self.settings.absolute_timeout_seconds,
            path="/console",
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
        )
        response.delete_cookie(self.browser_cookie, path="/console")

    def forget(self, response: Response) -> None:
        response.delete_cookie(self.settings.cookie_name, path="/console")

    def browser_nonce(self, request: Request) -> tuple[str, bool]:
        """The random value binding a started sign-in (and the sign-in form) to this browser; whether it is new."""
        nonce = request.cookies.get(self.browser_cookie)
        if nonce and 16 <= len(nonce) <= MAX_COOKIE_CHARS:
            return nonce, False
        return secrets.token_urlsafe(24), True

    def keep_browser_nonce(self, response: Response, request: Request, nonce: str) -> None:
        response.set_cookie(
            self.browser_cookie,
            nonce,
            max_age=3600,
            path="/console",
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
        )

    # -- CSRF ---------------------------------------------------------------------------------------------------

    def csrf(self, binding: str) -> str:
        return hmac.new(self._key(), binding.encode(), hashlib.sha256).hexdigest()

    def session_binding(self, request: Request) -> str:
        return "session:" + digest(self.session_id(request) or "")

    def check_csrf(self, binding: str, supplied: object) -> None:
        # Bytes, not str: compare_digest refuses non-ASCII strings, and a hostile form may send any text.
        expected = self.csrf(binding).encode()
        if not isinstance(supplied, str) or not hmac.compare_digest(expected, supplied.encode("utf-8", "replace")):
            raise FormRejected("this form has expired or did not come from the console; reload the page and retry")

    def _context(self, request: Request) -> RequestContext:
        return request_context(request, self.clients, request.method, request.url.path)


def _ended_message(ended: str | None, settings: ConsoleSettings) -> str:
    if ended == "idle":
        return f"your session ended after {settings.idle_timeout_seconds // 60} minutes without use; sign in again"
    if ended == "absolute":
        return f"your session ended {settings.absolute_timeout_seconds // 3600} hours after sign-in; sign in again"
    return "sign in to use the console"
