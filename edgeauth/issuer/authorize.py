"""The authorization endpoint (RFC 6749 3.1, OpenID Connect Core 3.1.2): from a request to a code, a login page, a
consent page, or an error.

authlib validates the request (client, redirect URI, response type, scopes, PKCE, nonce, prompt); this module
decides what the person must still do: sign in (no session, `prompt=login`/`select_account` not yet answered by a
sign-in made for this request, `max_age` exceeded), consent (third-party clients only, remembered per person and
client), or nothing. Errors go back to the client only through a redirect URI authlib validated against the
registration; an unknown client or a bad redirect URI gets an error page and never a redirect (RFC 6749 4.1.2.1).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidRequestError, OAuth2Error
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    LoginRequiredError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)

from edgeauth.issuer.accounts import Account
from edgeauth.issuer.models import ClientRecord
from edgeauth.issuer.oidc import PeopleServer, grantable_scopes
from edgeauth.issuer.server import IssuerRequest, OAuthRequest
from edgeauth.issuer.sessions import BrowserState, PendingAuthorization, SignInSession

AUTHORIZE_PATH = "/oauth/authorize"
# RFC 6749 3.1: these may not repeat; OpenID Connect adds its own. Anything longer is not a real request.
MAX_PARAM_CHARS = 4096
MAX_MAX_AGE = 10 * 365 * 86400


@dataclass(frozen=True)
class Outcome:
    """What the web adapter sends: a redirect, or a page (`login`, `consent`, `error`) with its status."""

    redirect: str | None = None
    page: str | None = None
    status: int = 200
    message: str = ""
    pending_id: str | None = None
    client: ClientRecord | None = None
    scopes: tuple[str, ...] = field(default_factory=tuple)


def with_issuer(location: str, issuer: str) -> str:
    """RFC 9207: the authorization response names its issuer, so a client talking to several cannot be mixed up."""
    parts = urlsplit(location)
    query = parse_qsl(parts.query, keep_blank_values=True)
    return urlunsplit(parts._replace(query=urlencode([*query, ("iss", issuer)])))


def _max_age(params: Mapping[str, str]) -> int | None:
    raw = params.get("max_age")
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_MAX_AGE:
        raise InvalidRequestError("max_age must be a non-negative number of seconds")
    return int(raw)


class Authorizer:
    """The decisions of the authorization endpoint, framework-free (the web adapter renders the outcome)."""

    def __init__(self, server: PeopleServer, browser: BrowserState, issuer: str) -> None:
        self._server = server
        self._browser = browser
        self._issuer = issuer

    def authorize(
        self,
        params: dict[str, str],
        cookie: str | None,
        *,
        pending_id: str | None = None,
        pending: PendingAuthorization | None = None,
        now: float | None = None,
    ) -> Outcome:
        """One pass over an authorization request; `pending` is the same request resumed after login/consent."""
        moment = time.time() if now is None else now
        if any(len(value) > MAX_PARAM_CHARS for value in params.values()):
            return Outcome(page="error", status=400, message="a parameter of this request is too long")
        session = self._browser.session(cookie)
        account = self._server.person(session.subject) if session is not None else None
        signed_in = session if account is not None else None
        request = self._server.create_oauth2_request(
            IssuerRequest(method="GET", path=AUTHORIZE_PATH, headers={}, form=params)
        )
        client = self._server.query_client(params.get("client_id"))
        if client is None or client.record is None:
            return Outcome(page="error", status=400, message="unknown client: the application's link is wrong")
        try:
            grant = self._server.get_consent_grant(request, end_user=account)
            decided = self._decide(request, grant.redirect_uri, signed_in, account, pending, moment)
        except OAuth2Error as error:
            return self._error(error, params)
        if decided is not None:
            return self._pending(decided, params, pending_id, client.record, request)
        request.sign_in = signed_in
        response = self._server.create_authorization_response(request, grant_user=account, grant=grant)
        location = dict(response.headers).get("Location")
        if pending_id is not None:
            self._browser.finish(pending_id)
        if response.status != 302 or location is None:
            return Outcome(page="error", status=400, message=str(response.body.get("error_description", "refused")))
        return Outcome(redirect=with_issuer(location, self._issuer))

    def consent(self, pending_id: str, pending: PendingAuthorization, cookie: str | None, allow: bool) -> Outcome:
        """The person's answer on the consent page: remembered and the request goes on, or `access_denied`."""
        session = self._browser.session(cookie)
        account = self._server.person(session.subject) if session is not None else None
        if not allow:
            return self._deny(pending_id, pending.params, account)
        client = self._server.query_client(pending.params.get("client_id"))
        if account is not None and client is not None and client.record is not None:
            requested = set(client.get_allowed_scope(pending.params.get("scope")).split())
            scopes = set(grantable_scopes(requested, client.record, account))
            self._browser.remember_consent(account.subject, client.record.client_id, scopes)
        consented = pending.model_copy(update={"consented": True})
        self._browser.update(pending_id, consented)
        return self.authorize(pending.params, cookie, pending_id=pending_id, pending=consented)

    def _deny(self, pending_id: str, params: dict[str, str], account: Account | None) -> Outcome:
        request = self._server.create_oauth2_request(
            IssuerRequest(method="GET", path=AUTHORIZE_PATH, headers={}, form=params)
        )
        self._browser.finish(pending_id)
        try:
            grant = self._server.get_consent_grant(request, end_user=account)
            raise AccessDeniedError(redirect_uri=grant.redirect_uri, state=params.get("state"))
        except OAuth2Error as error:
            return self._error(error, params)

    def _decide(
        self,
        request: OAuthRequest,
        redirect_uri: str,
        session: SignInSession | None,
        account: Account | None,
        pending: PendingAuthorization | None,
        moment: float,
    ) -> str | None:
        """None when a code may be issued now, else the page the person must pass first (`login`, `consent`)."""
        data = request.payload.data
        prompts = set((data.get("prompt") or "").split())
        state = data.get("state")
        if "none" in prompts and len(prompts) > 1:
            raise InvalidRequestError("prompt=none cannot be combined", redirect_uri=redirect_uri, state=state)
        # OpenID Connect Core 6: request objects are not supported, and saying so beats ignoring them.
        if data.get("request"):
            raise RequestNotSupportedError(redirect_uri=redirect_uri, state=state)
        if data.get("request_uri"):
            raise RequestURINotSupportedError(redirect_uri=redirect_uri, state=state)
        try:
            max_age = _max_age(data)
        except InvalidRequestError as error:
            error.redirect_uri, error.state = redirect_uri, state
            raise
        # A sign-in made for this very request answers prompt=login and any max_age (even 0).
        fresh = session is not None and pending is not None and session.auth_time >= pending.created_at
        if (
            session is None
            or (prompts & {"login", "select_account"} and not fresh)
            or (max_age is not None and not fresh and moment - session.auth_time > max_age)
        ):
            if "none" in prompts:
                raise LoginRequiredError(redirect_uri=redirect_uri, state=state)
            return "login"
        client: ClientRecord = request.client.record
        assert account is not None
        scopes = set(grantable_scopes(set((request.scope or "").split()), client, account))
        answered = client.first_party or (pending is not None and pending.consented)
        remembered = "consent" not in prompts and self._browser.consented(account.subject, client.client_id, scopes)
        if answered or remembered:
            return None
        if "none" in prompts:
            raise ConsentRequiredError(redirect_uri=redirect_uri, state=state)
        return "consent"

    def _pending(
        self, page: str, params: dict[str, str], pending_id: str | None, client: ClientRecord, request: OAuthRequest
    ) -> Outcome:
        pending_id = pending_id or self._browser.begin(params)
        return Outcome(
            page=page, pending_id=pending_id, client=client, scopes=tuple(sorted((request.scope or "").split()))
        )

    def _error(self, error: OAuth2Error, params: dict[str, str]) -> Outcome:
        if error.redirect_uri:
            if error.state is None and params.get("state"):
                error.state = params["state"]
            status, _body, headers = error()
            location = dict(headers).get("Location")
            if status == 302 and location:
                return Outcome(redirect=with_issuer(location, self._issuer))
        return Outcome(page="error", status=400, message=error.description or error.error)
