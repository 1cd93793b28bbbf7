"""The issuer assembled: authlib's server with our grants and endpoints, rate limits and decision events.

`Issuer` is framework-free: it takes `IssuerRequest`s and returns `IssuerResponse`s; `http.py` adapts it to
FastAPI. Every call is synchronous (Redis, keyed hashes, signing) and meant to run in a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import redis
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from edgeauth.audit import AuditSink
from edgeauth.decisions import DecisionBuffer
from edgeauth.issuer.accounts import AccountLookup, NoUpstream, UpstreamCheck
from edgeauth.issuer.authorize import AUTHORIZE_PATH, Authorizer
from edgeauth.issuer.codes import AuthorizationCodeStore
from edgeauth.issuer.end_session import EndSession, Logout
from edgeauth.issuer.errors import IssuerUnavailable, RateLimited
from edgeauth.issuer.grants import TOKEN_AUTH_METHODS, ClientCredentialsGrant, PrivateKeyJwtAuth
from edgeauth.issuer.models import OIDC_SCOPES
from edgeauth.issuer.oidc import (
    ACR_MFA,
    ACR_PASSWORD,
    CLAIMS_SUPPORTED,
    PEOPLE_AUTH_METHODS,
    AuthorizationCodeGrant,
    IdTokens,
    PeopleRefreshTokenGrant,
    PeopleServer,
    S256Challenge,
)
from edgeauth.issuer.ratelimit import RateLimiter, SignInThrottle
from edgeauth.issuer.refresh import RefreshTokenStore
from edgeauth.issuer.registry import ClientRegistry, ClientStore
from edgeauth.issuer.rfc7009 import RevocationEndpoint
from edgeauth.issuer.rfc7662 import IntrospectionEndpoint
from edgeauth.issuer.server import IssuerRequest, IssuerResponse, OAuthRequest, oauth_error_response
from edgeauth.issuer.sessions import BrowserState
from edgeauth.issuer.tokens import AccessTokenMinter, RevocationLedger, SigningKeys
from edgeauth.keystore import KeyStore
from edgeauth.models import DecisionAction, DecisionEvent
from edgeauth.revocation import RevocationPublisher
from edgeauth.settings import EdgeAuthSettings

if TYPE_CHECKING:
    from edgeauth.issuer.login import SignIn
    from edgeauth.people import PeopleDirectory

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
REVOCATION_PATH = "/oauth/revoke"
INTROSPECTION_PATH = "/oauth/introspect"
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration"
USERINFO_PATH = "/oauth/userinfo"
END_SESSION_PATH = "/oauth/end_session"
MAX_ASSERTION_CHARS = 8192


def _directory_accounts(directory: PeopleDirectory) -> AccountLookup:
    """The people directory as the provider's `AccountLookup`.

    Imported when an issuer is built, not with this module: `edgeauth.people` imports `edgeauth.issuer.models`,
    which runs this package's `__init__`, so a module-level import here would be circular whichever side loads first.
    """
    from edgeauth.issuer.directory import DirectoryAccounts

    return DirectoryAccounts(directory)


class NoAccounts:
    """The directory of an issuer built without one: nobody can sign in (machine clients only)."""

    def account(self, subject: str) -> None:
        return None


def claimed_client_id(request: IssuerRequest) -> str | None:
    """The client id a request claims (not yet authenticated): for rate limiting and decision events.

    Raises `InvalidClientError` for an `Authorization: Basic` header that does not decode, which authlib
    would otherwise fail on.
    """
    authorization = request.headers.get("authorization") or ""
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise InvalidClientError(
                status_code=401, description="The Basic credentials are not base64 of UTF-8."
            ) from None
        return decoded.partition(":")[0][:64] or None
    assertion = request.form.get("client_assertion")
    if assertion and len(assertion) <= MAX_ASSERTION_CHARS and assertion.count(".") == 2:
        try:
            payload = assertion.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (binascii.Error, ValueError, RecursionError):
            return None
        sub = claims.get("sub") if isinstance(claims, dict) else None
        return sub[:64] if isinstance(sub, str) else None
    client_id = request.form.get("client_id")
    return client_id[:64] if client_id else None


def client_auth_methods(request: IssuerRequest) -> list[str]:
    """The client-authentication methods a request presents; RFC 6749 section 2.3 allows at most one.

    authlib tries its methods in turn and takes the first that succeeds, so a request carrying a wrong Basic
    secret and a right assertion (or the reverse) would pass on whichever was checked first.
    """
    scheme = (request.headers.get("authorization") or "").strip().partition(" ")[0].lower()
    presented = {
        "client_secret_basic": scheme == "basic",
        "client_secret_post": "client_secret" in request.form,
        "private_key_jwt": "client_assertion" in request.form or "client_assertion_type" in request.form,
    }
    return [method for method, used in presented.items() if used]


class Issuer:
    """The OAuth 2.0 authorization server of edgeauth (token, revocation, introspection, metadata, JWKS)."""

    def __init__(
        self,
        settings: EdgeAuthSettings,
        client: redis.Redis,
        keys: SigningKeys,
        ledger: RevocationLedger,
        *,
        decisions: DecisionBuffer | None = None,
        store: ClientStore | None = None,
        audit: AuditSink | None = None,
        directory: PeopleDirectory | None = None,
        upstream: UpstreamCheck | None = None,
    ) -> None:
        """`directory` (people) enables people's sign-in; `upstream` re-checks federated people at each refresh."""
        self.settings = settings
        issuer_settings = settings.oauth
        self.keys = keys
        self.decisions = decisions
        prefix = settings.key_prefix
        self.registry = ClientRegistry.from_settings(settings, client, store=store, audit=audit)
        self.refresh_tokens = RefreshTokenStore(
            client,
            prefix,
            ttl=issuer_settings.refresh_token_ttl,
            family_ttl=issuer_settings.refresh_family_ttl,
            on_family_revoked=ledger.revoke,
        )
        self.limiter = RateLimiter(client, prefix, issuer_settings)
        self.ledger = ledger
        self.browser = BrowserState(
            client,
            prefix,
            session_ttl=issuer_settings.person_session_ttl,
            pending_ttl=issuer_settings.pending_request_ttl,
            consent_ttl=issuer_settings.consent_ttl,
        )
        base_url = settings.issuer.rstrip("/")
        self.server = PeopleServer(
            codes=AuthorizationCodeStore(
                client,
                prefix,
                ttl=issuer_settings.authorization_code_ttl,
                reuse_memory=issuer_settings.person_session_ttl,
            ),
            accounts=_directory_accounts(directory) if directory is not None else NoAccounts(),
            upstream=upstream or NoUpstream(),
            keys=keys,
            browser=self.browser,
            ledger=ledger,
            issuer=settings.issuer,
            id_token_ttl=issuer_settings.id_token_ttl,
            events=directory.events if directory is not None else None,
            base_url=base_url,
            registry=self.registry,
            minter=AccessTokenMinter(settings, keys),
            refresh_tokens=self.refresh_tokens,
            scopes_supported=(*issuer_settings.scopes_supported, *sorted(OIDC_SCOPES)),
            person_family_ttl=issuer_settings.person_session_ttl,
        )
        self.authorizer = Authorizer(self.server, self.browser, settings.issuer)
        self.directory = directory
        self.sign_in: SignIn | None = None
        if directory is not None:
            from edgeauth.issuer.login import SignIn  # see _directory_accounts: a module-level import is circular

            throttle = SignInThrottle(client, prefix, issuer_settings)
            self.sign_in = SignIn(directory, self.browser, throttle, self.authorizer)
        self.logout = EndSession(
            issuer=settings.issuer,
            keys=keys,
            algorithms=settings.allowed_algorithms,
            registry=self.registry,
            browser=self.browser,
            refresh_tokens=self.refresh_tokens,
            family_ttl=issuer_settings.person_session_ttl,
        )
        self.server.register_grant(ClientCredentialsGrant)
        self.server.register_grant(PeopleRefreshTokenGrant)
        self.server.register_grant(AuthorizationCodeGrant, [S256Challenge(), IdTokens(self.server)])
        self.server.register_client_auth_method(
            "private_key_jwt",
            PrivateKeyJwtAuth(
                # RFC 7523 3: the audience is the token endpoint; the issuer identifier is accepted too.
                audiences=[base_url + TOKEN_PATH, base_url, settings.issuer],
                algorithms=list(settings.allowed_algorithms),
                client=client,
                prefix=prefix,
                max_lifetime=issuer_settings.assertion_max_lifetime,
            ),
        )
        self.server.register_endpoint(RevocationEndpoint(ledger))
        self.server.register_endpoint(IntrospectionEndpoint(ledger, settings.issuer))

    def token(self, request: IssuerRequest) -> IssuerResponse:
        """RFC 6749 section 3.2. A `RateLimited` error is raised for the web adapter to turn into a 429."""
        return self._handle("token", request, self.server.create_token_response)

    def revoke(self, request: IssuerRequest) -> IssuerResponse:
        """RFC 7009 section 2."""
        return self._handle("revoke", request, partial(self.server.create_endpoint_response, "revocation"))

    def introspect(self, request: IssuerRequest) -> IssuerResponse:
        """RFC 7662 section 2."""
        return self._handle("introspect", request, partial(self.server.create_endpoint_response, "introspection"))

    def _handle(
        self,
        action: DecisionAction,
        request: IssuerRequest,
        respond: Callable[[OAuthRequest], IssuerResponse],
    ) -> IssuerResponse:
        """Every endpoint authenticates a client, so every one is throttled: revocation and introspection would
        otherwise be a way round the token endpoint's lockouts."""
        started = time.perf_counter_ns()
        claimed = None
        oauth_request: OAuthRequest | None = None
        try:
            claimed = claimed_client_id(request)
            methods = client_auth_methods(request)
            if len(methods) > 1:
                raise InvalidRequestError(
                    description=f"one client authentication method per request, got {' and '.join(methods)}"
                )
            self._limit(action, request, claimed, started)
            oauth_request = self.server.create_oauth2_request(request)
            response = respond(oauth_request)
        except OAuth2Error as error:
            response = oauth_error_response(error)
        except ValueError as exc:
            # authlib refuses to build an error whose description would carry unsafe characters.
            log.info("%s request refused: %s", action, exc)
            response = oauth_error_response(InvalidClientError(description="The request could not be processed."))
        except redis.RedisError as exc:
            raise IssuerUnavailable(f"the issuer's store is unreachable: {type(exc).__name__}") from exc
        self._count(request, response, claimed, oauth_request)
        self._decide(action, request, response, started, claimed, oauth_request)
        return response

    def _limit(self, action: DecisionAction, request: IssuerRequest, claimed: str | None, started: int) -> None:
        try:
            self.limiter.check(client_id=claimed, source_ip=request.source_ip)
        except RateLimited:
            self._decide(action, request, IssuerResponse(429, {"error": "rate_limited"}), started, claimed, None)
            raise

    def _count(
        self, request: IssuerRequest, response: IssuerResponse, claimed: str | None, oauth_request: OAuthRequest | None
    ) -> None:
        """Feed the throttle: a failed client authentication counts against (client id, address) and the address;
        a successful one clears its pair. A request that presented no credentials guessed nothing: only the
        address's request rate applies to it."""
        client = oauth_request.client if oauth_request is not None else None
        try:
            if response.body.get("error") == "invalid_client" and client_auth_methods(request):
                self.limiter.failed(client_id=claimed, source_ip=request.source_ip)
            elif client is not None:
                self.limiter.succeeded(client_id=client.get_client_id(), source_ip=request.source_ip)
        except redis.RedisError as exc:
            raise IssuerUnavailable(f"the issuer's store is unreachable: {type(exc).__name__}") from exc

    def end_session(
        self, params: dict[str, str], cookie: str | None, confirmed: str | None, source_ip: str | None
    ) -> Logout:
        """RP-Initiated Logout; an ended session is a `sign-out` event of its person."""
        try:
            logout = self.logout.end(params, cookie, confirmed=confirmed)
        except redis.RedisError as exc:
            raise IssuerUnavailable(f"the issuer's store is unreachable: {type(exc).__name__}") from exc
        if logout.ended is not None and self.directory is not None:
            self.directory.events.signed_out(logout.ended.subject, source_ip=source_ip, client_id=logout.client_id)
        return logout

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization server metadata."""
        base = self.settings.issuer.rstrip("/")
        signing_algs = list(self.settings.allowed_algorithms)
        document = {
            "issuer": self.settings.issuer,
            "authorization_endpoint": base + AUTHORIZE_PATH,
            "token_endpoint": base + TOKEN_PATH,
            "jwks_uri": base + JWKS_PATH,
            "scopes_supported": [*self.settings.oauth.scopes_supported, *sorted(OIDC_SCOPES)],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": PEOPLE_AUTH_METHODS,
            "token_endpoint_auth_signing_alg_values_supported": signing_algs,
            "revocation_endpoint": base + REVOCATION_PATH,
            "revocation_endpoint_auth_methods_supported": PEOPLE_AUTH_METHODS,
            "revocation_endpoint_auth_signing_alg_values_supported": signing_algs,
            "introspection_endpoint": base + INTROSPECTION_PATH,
            "introspection_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
            "introspection_endpoint_auth_signing_alg_values_supported": signing_algs,
            "authorization_response_iss_parameter_supported": True,
        }
        AuthorizationServerMetadata(document).validate()
        return document

    def openid_configuration(self) -> dict[str, Any]:
        """OpenID Connect Discovery 1.0 section 3: the RFC 8414 document plus the OpenID Provider members."""
        base = self.settings.issuer.rstrip("/")
        document = {
            **self.metadata(),
            "userinfo_endpoint": base + USERINFO_PATH,
            "end_session_endpoint": base + END_SESSION_PATH,
            "subject_types_supported": ["public"],
            # ID tokens are signed by the active key, whose algorithm is one of these.
            "id_token_signing_alg_values_supported": list(self.settings.allowed_algorithms),
            "claims_supported": list(CLAIMS_SUPPORTED),
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "acr_values_supported": [ACR_PASSWORD, ACR_MFA],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
        }
        OpenIDProviderMetadata(document).validate()
        return document

    def jwks(self) -> dict[str, Any]:
        try:
            return self.keys.publishable_jwks()
        except redis.RedisError as exc:
            raise IssuerUnavailable(f"the key store is unreachable: {type(exc).__name__}") from exc

    def _decide(
        self,
        action: DecisionAction,
        request: IssuerRequest,
        response: IssuerResponse,
        started: int,
        claimed: str | None,
        oauth_request: OAuthRequest | None,
    ) -> None:
        if self.decisions is None:
            return
        error = response.body.get("error") if response.status >= 400 else None
        reason = (oauth_request.decision_reason if oauth_request is not None else None) or error
        minted = oauth_request.minted if oauth_request is not None else None
        revoked = oauth_request.revoked_token if oauth_request is not None else None
        client = oauth_request.client if oauth_request is not None else None
        # A person's grant (or refused refresh) is about the person; a machine's about itself.
        person = oauth_request.person if oauth_request is not None else None
        parent = oauth_request.parent_refresh[1] if oauth_request is not None and oauth_request.parent_refresh else None
        client_name = client.get_client_id() if client is not None else claimed
        subject = person.subject if person is not None else (parent.subject if parent is not None else client_name)
        event = DecisionEvent(
            timestamp=datetime.now(UTC),
            outcome="failure" if error else "success",
            reason=str(reason) if error else "ok",
            action="client_auth" if error == "invalid_client" else action,
            subject=subject,
            client_id=client_name,
            scopes=oauth_request.granted_scopes if oauth_request is not None else (),
            jti=minted.jti if minted else (revoked.jti if revoked else None),
            kid=minted.kid if minted else None,
            alg=minted.alg if minted else None,
            source_ip=request.source_ip,
            method=request.method,
            path=request.path,
            latency_us=(time.perf_counter_ns() - started) // 1000,
            request_id=request.request_id,
        )
        self.decisions.submit(event)


def build_issuer(
    settings: EdgeAuthSettings,
    client: redis.Redis,
    *,
    decisions: DecisionBuffer | None = None,
    audit: AuditSink | None = None,
    upstream: UpstreamCheck | None = None,
) -> Issuer:
    """The issuer over the Redis-backed key store, revocation stream, client registry and people directory."""
    from edgeauth.people import PeopleDirectory  # see _directory_accounts: a module-level import is circular

    return Issuer(
        settings,
        client,
        KeyStore(client, settings, audit=audit),
        RevocationPublisher(client, settings),
        decisions=decisions,
        audit=audit,
        directory=PeopleDirectory.from_settings(settings, client, audit=audit),
        upstream=upstream,
    )
