"""Sign-in for people: a pasted edgeauth access token kept in an HttpOnly cookie and re-verified on every request.

The cookie holds the token itself, so expiry, revocation and key rotation apply to the console exactly as to the
API. Forms carry a CSRF token: an HMAC of the session token's digest (or, before sign-in, of a random nonce kept
in its own cookie), so a form is only good for the session that rendered it. The HMAC key is one shared secret
(sealed in Redis, `edgeauth.SharedSecret`), so a form rendered by one replica posts to any other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from fastapi import Request, Response

from edgeauth import AuditEvent, AuditSink, ClientAddress, Principal, RequestContext, VerificationError, Verifier
from edgeauth.edge.http import request_context
from vigil.console.errors import FormRejected, RoleRefused, SignInRequired
from vigil.console.settings import ConsoleSettings

# Scopes that open at least one console page; a token with none of them has nothing to see here.
CONSOLE_SCOPES = frozenset({"alerts:read", "alerts:triage", "evidence:read", "compliance:read"})
MAX_TOKEN_CHARS = 8192


class Sessions:
    """Verifies the session cookie, sets and clears it, and issues and checks CSRF tokens."""

    def __init__(
        self,
        verifier: Verifier,
        settings: ConsoleSettings,
        csrf_key: Callable[[], bytes],
        audit: AuditSink | None = None,
    ) -> None:
        """`csrf_key` gives the shared HMAC key (read once from Redis on first use, then kept)."""
        self.verifier = verifier
        self.clients = ClientAddress(verifier.settings.trusted_proxies)
        self.settings = settings
        self._key = csrf_key
        self._audit = audit

    @property
    def nonce_cookie(self) -> str:
        return f"{self.settings.cookie_name}_signin"

    def token(self, request: Request) -> str | None:
        return request.cookies.get(self.settings.cookie_name) or None

    def principal(self, request: Request, scopes: Iterable[str] = ()) -> Principal:
        """The principal of the session cookie holding every scope, else `SignInRequired` / `RoleRefused`."""
        token = self.token(request)
        if token is None:
            raise SignInRequired("sign in to use the console")
        try:
            return self.verifier.verify(token, tuple(scopes), context=self._context(request))
        except VerificationError as exc:
            if exc.status_code == 403:
                raise RoleRefused(f"your role may not open this page ({exc.description})") from None
            raise SignInRequired(f"your session ended: {exc.description}; paste a fresh token") from None

    def sign_in(self, request: Request, token: str) -> Principal:
        token = token.strip()
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise FormRejected("paste an access token (a JWT of at most 8192 characters)")
        try:
            principal = self.verifier.verify(token, (), context=self._context(request))
        except VerificationError as exc:
            raise FormRejected(f"that token was refused: {exc.description}") from None
        if not principal.scopes & CONSOLE_SCOPES:
            self._signed_in(principal, "no-console-scope")
            raise FormRejected("that token holds no scope the console serves (alerts, evidence or compliance)")
        self._signed_in(principal, None)
        return principal

    def _signed_in(self, principal: Principal, refusal: str | None) -> None:
        """A sign-in is an audited change of who holds a console session (a refused token is an auth decision)."""
        if self._audit is None:
            return
        self._audit.emit(
            [
                AuditEvent(
                    timestamp=datetime.now(UTC),
                    provider="console",
                    action="console-signed-in",
                    category="iam",
                    type="denied" if refusal else "access",
                    outcome="failure" if refusal else "success",
                    actor=principal.subject,
                    client_id=principal.client_id,
                    target=f"session:{principal.token_id or principal.subject}",
                    reason=refusal,
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

    def keep(self, response: Response, request: Request, token: str, principal: Principal) -> None:
        seconds = max(1, int((principal.expires_at - datetime.now(UTC)).total_seconds()))
        response.set_cookie(
            self.settings.cookie_name,
            token.strip(),
            max_age=seconds,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=self._secure(request),
        )
        response.delete_cookie(self.nonce_cookie, path="/console")

    def forget(self, response: Response) -> None:
        response.delete_cookie(self.settings.cookie_name, path="/console")

    def signin_nonce(self, request: Request) -> tuple[str, bool]:
        """The pre-sign-in nonce the sign-in form's CSRF token is bound to, and whether it is new."""
        nonce = request.cookies.get(self.nonce_cookie)
        if nonce and len(nonce) <= 64:
            return nonce, False
        return secrets.token_urlsafe(24), True

    def keep_nonce(self, response: Response, request: Request, nonce: str) -> None:
        response.set_cookie(
            self.nonce_cookie,
            nonce,
            max_age=3600,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=self._secure(request),
        )

    # -- CSRF ---------------------------------------------------------------------------------------------------

    def csrf(self, binding: str) -> str:
        return hmac.new(self._key(), binding.encode(), hashlib.sha256).hexdigest()

    def session_binding(self, request: Request) -> str:
        token = self.token(request) or ""
        return "session:" + hashlib.sha256(token.encode()).hexdigest()

    def check_csrf(self, binding: str, supplied: object) -> None:
        # Bytes, not str: compare_digest refuses non-ASCII strings, and a hostile form may send any text.
        expected = self.csrf(binding).encode()
        if not isinstance(supplied, str) or not hmac.compare_digest(expected, supplied.encode("utf-8", "replace")):
            raise FormRejected("this form has expired or did not come from the console; reload the page and retry")

    def _context(self, request: Request) -> RequestContext:
        return request_context(request, self.clients, request.method, request.url.path)
