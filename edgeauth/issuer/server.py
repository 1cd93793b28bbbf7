"""The authorization server: authlib's `AuthorizationServer` bound to our client registry, keys and stores.

authlib ships no FastAPI/Starlette server integration, so this module is the framework-free half of one: an
`IssuerRequest` (already-parsed form, headers, peer address) goes in, an `IssuerResponse` comes out. The grant,
client-authentication, revocation and introspection logic is authlib's; we supply storage and token minting.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2 import rfc6749
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.util import scope_to_list

from edgeauth.issuer.accounts import Account
from edgeauth.issuer.errors import IssuerError, RequestTooLarge
from edgeauth.issuer.models import ClientRecord
from edgeauth.issuer.refresh import RefreshRecord, RefreshTokenStore
from edgeauth.issuer.registry import ClientRegistry
from edgeauth.issuer.rfc8252 import redirect_uri_allowed
from edgeauth.issuer.sessions import SignInSession
from edgeauth.issuer.tokens import AccessTokenMinter, IssuedToken, MintedToken

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 32
# RFC 8707 `resource` and the common `audience` may repeat; RFC 6749 3.2 forbids repeating anything else.
REPEATABLE = frozenset({"audience", "resource"})
_CLIENT_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")


@dataclass(frozen=True)
class IssuerRequest:
    """One HTTP request to an issuer endpoint, as the web adapter hands it over."""

    method: str
    path: str
    headers: Mapping[str, str]
    form: Mapping[str, str] = field(default_factory=dict)
    audiences: tuple[str, ...] = ()
    source_ip: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class IssuerResponse:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]] = field(default_factory=list)


def parse_form(body: bytes, content_type: str | None, *, max_bytes: int) -> tuple[dict[str, str], tuple[str, ...]]:
    """A strict RFC 6749 form body: url-encoded UTF-8, bounded, no repeated parameter except audiences."""
    if len(body) > max_bytes:
        raise RequestTooLarge(f"request body over {max_bytes} bytes")
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if body and media_type != FORM_CONTENT_TYPE:
        raise IssuerError(f"the body must be {FORM_CONTENT_TYPE}")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise IssuerError(f"the body is not a UTF-8 form with at most {MAX_FORM_FIELDS} fields") from None
    form: dict[str, str] = {}
    audiences: list[str] = []
    for name, value in pairs:
        if name in REPEATABLE:
            audiences.append(value)
        elif name in form:
            raise IssuerError(f"parameter {name!r} repeated (RFC 6749 section 3.2)")
        form[name] = value
    return form, tuple(audiences)


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, form: Mapping[str, str]) -> None:
        self._form = form

    @property
    def data(self) -> Mapping[str, str]:
        return self._form

    @property
    def datalist(self) -> dict[str, list[str]]:
        return {k: [v] for k, v in self._form.items()}


class OAuthRequest(OAuth2Request):  # type: ignore[misc]
    """authlib's request view of an `IssuerRequest`, plus what our grants decide along the way."""

    def __init__(self, request: IssuerRequest, base_url: str) -> None:
        super().__init__(method=request.method, uri=base_url + request.path, headers=request.headers)
        self.payload = _Payload(request.form)
        self.issuer_request = request
        self.granted_scopes: tuple[str, ...] = ()
        self.granted_audiences: tuple[str, ...] = ()
        self.parent_refresh: tuple[str, RefreshRecord] | None = None
        self.minted: MintedToken | None = None
        self.revoked_token: IssuedToken | None = None
        self.decision_reason: str | None = None
        # A person's grant (authorization code, or a refresh of one): who, and which sign-in session it came from.
        self.person: Account | None = None
        self.session_id: str | None = None
        self.sign_in_ends: int | None = None
        self.refresh_issued: RefreshRecord | None = None
        # The authorization endpoint's signed-in browser session, and the code a token request redeems.
        self.sign_in: SignInSession | None = None
        self.redeemed_code: str | None = None

    @property
    def args(self) -> Mapping[str, str]:
        return {}

    @property
    def form(self) -> Mapping[str, str]:
        return self.issuer_request.form


class RegisteredClient(ClientMixin):  # type: ignore[misc]
    """authlib's client interface over a `ClientRecord`, or a stand-in for an unregistered id.

    The stand-in (`record` None) spends the same keyed hash on a guessed secret as a real client and never
    authenticates, so neither the answer nor its timing tells an attacker whether an id exists.
    """

    def __init__(self, client_id: str, record: ClientRecord | None, registry: ClientRegistry) -> None:
        self.client_id = client_id
        self.record = record
        self._registry = registry

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        """Never a default: every authorization request names its redirect URI (OpenID Connect Core 3.1.2.1)."""
        return

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        record = self.record
        return record is not None and redirect_uri_allowed(redirect_uri, record.redirect_uris, public=record.public)

    def check_response_type(self, response_type: str) -> bool:
        record = self.record
        return (
            response_type == "code"
            and record is not None
            and not record.disabled
            and "authorization_code" in record.grant_types
        )

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = self.record.scopes if self.record is not None else frozenset()
        return " ".join(s for s in scope_to_list(scope) or [] if s in allowed)

    def check_client_secret(self, client_secret: str) -> bool:
        return self._registry.authenticate(self.record, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.record is None or self.record.disabled:
            return False
        if self.record.public:
            return method == "none"
        if self.record.auth_method == "private_key_jwt":
            return method == "private_key_jwt"
        return method in ("client_secret_basic", "client_secret_post")

    def check_grant_type(self, grant_type: str) -> bool:
        return self.record is not None and grant_type in self.record.grant_types


class IssuerServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's authorization server over our registry; token responses are minted by `AccessTokenMinter`."""

    def __init__(
        self,
        *,
        base_url: str,
        registry: ClientRegistry,
        minter: AccessTokenMinter,
        refresh_tokens: RefreshTokenStore,
        scopes_supported: tuple[str, ...],
        person_family_ttl: int,
    ) -> None:
        super().__init__(scopes_supported=list(scopes_supported))
        # Absolute lifetime of a refresh-token family a person's sign-in starts (a working day).
        self.person_family_ttl = person_family_ttl
        self.base_url = base_url.rstrip("/")
        self.registry = registry
        self.minter = minter
        self.refresh_tokens = refresh_tokens

    def query_client(self, client_id: object) -> RegisteredClient | None:
        # Hostile ids never reach storage: anything that cannot be a registered id is simply unknown.
        if not isinstance(client_id, str) or not 0 < len(client_id) <= 64 or not _CLIENT_ID_CHARS.issuperset(client_id):
            return None
        return RegisteredClient(client_id, self.registry.store.get(client_id), self.registry)

    def save_token(self, token: dict[str, Any], request: OAuthRequest) -> None:
        """Nothing to do: access tokens are self-contained JWTs and refresh tokens are stored when minted."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's hook points; decisions are recorded by the web adapter around the whole request."""

    def create_oauth2_request(self, request: IssuerRequest | OAuthRequest) -> OAuthRequest:
        if isinstance(request, OAuthRequest):
            return request
        return OAuthRequest(request, self.base_url)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> IssuerResponse:
        return IssuerResponse(status=status, body=dict(body) if isinstance(body, Mapping) else {}, headers=headers)

    def _person_family_ttl(self, request: OAuthRequest, now: float) -> int:
        """A person's family lives a working day at most, and never past the sign-in session it came from."""
        if request.sign_in_ends is None:
            return self.person_family_ttl
        return max(1, min(self.person_family_ttl, request.sign_in_ends - int(now)))

    def issue(self, request: OAuthRequest, *, with_refresh_token: bool) -> dict[str, Any]:
        """The token response of a validated grant: an RFC 9068 access token and, if due, a refresh token."""
        client: ClientRecord = request.client.record
        now = time.time()
        parent = request.parent_refresh[1] if request.parent_refresh else None
        person = request.person
        subject = person.subject if person else (parent.subject if parent else client.client_id)
        minted = self.minter.mint(
            client,
            subject=subject,
            scopes=request.granted_scopes,
            audiences=request.granted_audiences,
            now=now,
            # A person's engagement (an outside auditor) bounds their tokens, whatever client they use.
            engagement=person.engagement if person else client.engagement,
        )
        request.minted = minted
        response: dict[str, Any] = {
            "access_token": minted.token,
            "token_type": "Bearer",
            "expires_in": minted.expires_at - int(now),
            "scope": " ".join(request.granted_scopes),
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        }
        if with_refresh_token:
            refresh, record = self.refresh_tokens.issue(
                client_id=client.client_id,
                subject=subject,
                scopes=request.granted_scopes,
                audiences=request.granted_audiences,
                parent=parent,
                now=now,
                session_id=request.session_id,
                family_ttl=self._person_family_ttl(request, now) if person and not parent else None,
            )
            self.refresh_tokens.record_access_token(
                record.family, minted.jti, minted.expires_at, record.family_expires_at
            )
            request.refresh_issued = record
            response["refresh_token"] = refresh
        return response


def oauth_error_response(error: rfc6749.OAuth2Error) -> IssuerResponse:
    status, body, headers = error()
    return IssuerResponse(status=status, body=dict(body), headers=list(headers))
