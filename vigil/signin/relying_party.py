"""An OpenID Connect relying party: authorization code with PKCE (S256), ID token validation, refresh, revocation.

Who calls it: the console (a confidential client, `client_secret_basic`) and `vigil login` (a public native client,
RFC 8252). The protocol messages are authlib's client (`OAuth2Client` on httpx); what we add is the validation an
RP owes the ID token (OpenID Connect Core 3.1.3.7: signature against the provider's JWKS, `iss`, `aud`/`azp`,
`exp`, `nonce`) and one-line errors. It keeps no per-sign-in state: the caller keeps the `AuthorizationRequest`
(server-side for the console, in memory for the CLI) and hands it back with the code.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client import OAuthError
from pydantic import BaseModel, ConfigDict, SecretStr

from vigil.signin.discovery import ProviderMetadata, discover
from vigil.signin.errors import IdTokenRejected, ProviderRefused, ProviderUnavailable

# authlib 1.9 prefers the `httpx2` fork and says so on every import, on stderr, in every `vigil login`; httpx is
# what Vigil uses and what authlib's client still runs on. Its own filter is installed by the import above.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "The httpx module is deprecated", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

# Asymmetric signatures only: an RP that accepted HS256 would trust anything signed with its own client secret.
ID_TOKEN_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"})
CLOCK_SKEW_SECONDS = 60
HTTP_TIMEOUT = httpx.Timeout(10.0)
MAX_ID_TOKEN_CHARS = 16_384


class AuthorizationRequest(BaseModel):
    """One started sign-in: what the callback must present (`state`) and what only we know (`code_verifier`)."""

    model_config = ConfigDict(frozen=True)

    url: str
    state: str
    nonce: str
    code_verifier: SecretStr
    redirect_uri: str


class IdClaims(BaseModel):
    """Who signed in, from a validated ID token."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sub: str
    name: str | None = None
    preferred_username: str | None = None
    auth_time: int | None = None

    @property
    def display(self) -> str:
        return self.name or self.preferred_username or self.sub


class TokenSet(BaseModel):
    """A token response after validation; secrets stay `SecretStr` so no log or repr shows them."""

    model_config = ConfigDict(frozen=True)

    access_token: SecretStr
    expires_at: int
    refresh_token: SecretStr | None = None
    id_token: str | None = None
    scope: str = ""
    claims: IdClaims | None = None


class RelyingParty:
    """A client of one provider. Thread-safe: per-call authlib clients, one lock around the cached JWKS."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        client_secret: SecretStr | None = None,
        scope: str = "openid",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.scope = scope
        self._secret = client_secret
        self._transport = transport
        self._metadata: ProviderMetadata | None = None
        self._keys: jwt.PyJWKSet | None = None
        self._lock = threading.Lock()

    # -- provider -----------------------------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=HTTP_TIMEOUT, transport=self._transport, follow_redirects=False)

    @property
    def metadata(self) -> ProviderMetadata:
        """Discovered on first use, then kept: the provider's endpoints do not move under a running process."""
        if self._metadata is None:
            with self._http() as http:
                self._metadata = discover(http, self.issuer)
        return self._metadata

    def _client(self, **kwargs: Any) -> OAuth2Client:
        kwargs.setdefault("scope", self.scope)
        return OAuth2Client(
            client_id=self.client_id,
            client_secret=self._secret.get_secret_value() if self._secret else None,
            token_endpoint_auth_method="client_secret_basic" if self._secret else "none",
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT,
            transport=self._transport,
            **kwargs,
        )

    # -- the code flow ------------------------------------------------------------------------------------------

    def begin(self, redirect_uri: str, **extra: str) -> AuthorizationRequest:
        """A fresh authorization request: new state, nonce and PKCE verifier (RFC 7636, 43..128 characters)."""
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        with self._client(redirect_uri=redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.metadata.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce, **extra
            )
        return AuthorizationRequest(
            url=url, state=state, nonce=nonce, code_verifier=SecretStr(verifier), redirect_uri=redirect_uri
        )

    def finish(self, request: AuthorizationRequest, code: str) -> TokenSet:
        """Exchange the code (with its verifier) and validate the ID token against the request's nonce."""
        with self._client(redirect_uri=request.redirect_uri) as client:
            body = self._call(
                "the code exchange",
                lambda: client.fetch_token(
                    self.metadata.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=request.code_verifier.get_secret_value(),
                    redirect_uri=request.redirect_uri,
                ),
            )
        if not isinstance(body.get("id_token"), str):
            raise IdTokenRejected("the provider answered without an ID token (was `openid` in the scope?)")
        return self._token_set(body, nonce=request.nonce)

    def refresh(self, refresh_token: SecretStr, *, subject: str | None = None) -> TokenSet:
        """A new access token (and the rotated refresh token); an ID token in the answer must name `subject`."""
        # No `scope` here: the refresh keeps the grant's scopes (RFC 6749 6); asking for the configured ones again
        # would ask for more than a person's roles allowed at sign-in, which the provider refuses.
        with self._client(scope=None) as client:
            body = self._call(
                "the refresh",
                lambda: client.refresh_token(
                    self.metadata.token_endpoint, refresh_token=refresh_token.get_secret_value()
                ),
            )
        tokens = self._token_set(body, nonce=None)
        if tokens.claims is not None and subject is not None and tokens.claims.sub != subject:
            raise IdTokenRejected("the refreshed ID token names another subject")
        return tokens

    def revoke(self, refresh_token: SecretStr) -> None:
        """RFC 7009: the provider forgets the refresh token (and, for ours, its whole family)."""
        endpoint = self.metadata.revocation_endpoint
        if endpoint is None:
            raise ProviderUnavailable(f"{self.issuer} publishes no revocation_endpoint")
        with self._client() as client:
            response = self._call(
                "the revocation",
                lambda: client.revoke_token(
                    endpoint,
                    token=refresh_token.get_secret_value(),
                    token_type_hint="refresh_token",  # noqa: S106 (a hint name)
                ),
            )
        status = response.status_code
        if status != 200:
            code, detail = _oauth_error(response)
            raise ProviderRefused(f"the provider refused the revocation ({status}): {detail}", code)

    def end_session_url(self, *, id_token_hint: str | None, post_logout_redirect_uri: str) -> str | None:
        """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), or None when the provider has none."""
        endpoint = self.metadata.end_session_endpoint
        if endpoint is None:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token_hint:
            query["id_token_hint"] = id_token_hint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    def userinfo(self, access_token: SecretStr) -> dict[str, Any]:
        endpoint = self.metadata.userinfo_endpoint
        if endpoint is None:
            raise ProviderUnavailable(f"{self.issuer} publishes no userinfo_endpoint")
        headers = {"Authorization": f"Bearer {access_token.get_secret_value()}", "Accept": "application/json"}
        try:
            with self._http() as http:
                response = http.get(endpoint, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"userinfo at {self.issuer} cannot be reached: {exc}") from None
        if response.status_code != 200:
            code, detail = _oauth_error(response)
            raise ProviderRefused(f"userinfo answered {response.status_code}: {detail}", code)
        claims = response.json()
        if not isinstance(claims, dict):
            raise ProviderUnavailable("userinfo answered something other than a JSON object")
        return claims

    # -- validation ---------------------------------------------------------------------------------------------

    def _call(self, what: str, call: Any) -> Any:
        """authlib's and httpx's exceptions become ours at this boundary, each one line."""
        try:
            return call()
        except OAuthError as exc:
            detail = f"{exc.error}: {exc.description}" if exc.description else str(exc.error)
            raise ProviderRefused(f"the provider refused {what}: {detail}", str(exc.error)) from None
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{what} failed: {self.issuer} cannot be reached: {exc}") from None
        except ValueError as exc:  # a token endpoint answering something other than JSON
            raise ProviderUnavailable(f"{what} failed: the provider's answer is not a token response ({exc})") from None

    def _token_set(self, body: Mapping[str, Any], *, nonce: str | None) -> TokenSet:
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise ProviderRefused("the provider answered without an access token")
        lifetime = body.get("expires_in")
        expires_in = int(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 300
        refresh = body.get("refresh_token")
        id_token = body.get("id_token") if isinstance(body.get("id_token"), str) else None
        claims = self.validate_id_token(id_token, nonce=nonce) if id_token else None
        return TokenSet(
            access_token=SecretStr(access),
            expires_at=int(time.time()) + expires_in,
            refresh_token=SecretStr(refresh) if isinstance(refresh, str) and refresh else None,
            id_token=id_token,
            scope=str(body.get("scope") or ""),
            claims=claims,
        )

    def validate_id_token(self, id_token: str, *, nonce: str | None) -> IdClaims:
        """OpenID Connect Core 3.1.3.7: signed by the provider's key, for us, from it, unexpired, our nonce."""
        if len(id_token) > MAX_ID_TOKEN_CHARS:
            raise IdTokenRejected(f"the ID token is over {MAX_ID_TOKEN_CHARS} characters")
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise IdTokenRejected(f"the ID token is not a JWS: {exc}") from None
        algorithm = header.get("alg")
        allowed = ID_TOKEN_ALGORITHMS & set(self.metadata.id_token_signing_alg_values_supported)
        if algorithm not in allowed:
            raise IdTokenRejected(f"the ID token is signed with {algorithm!r}; accepted: {' '.join(sorted(allowed))}")
        key = self._signing_key(header.get("kid"))
        try:
            claims = jwt.decode(
                id_token,
                key,
                algorithms=[algorithm],
                audience=self.client_id,
                issuer=self.metadata.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.PyJWTError as exc:
            raise IdTokenRejected(f"the ID token was refused: {exc}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise IdTokenRejected("the ID token has several audiences and names another authorized party (azp)")
        if nonce is not None:
            found = claims.get("nonce")
            if not isinstance(found, str) or not hmac.compare_digest(found.encode(), nonce.encode()):
                raise IdTokenRejected("the ID token's nonce is not the one this sign-in sent")
        return IdClaims.model_validate(claims)

    def _signing_key(self, kid: object) -> jwt.PyJWK:
        """The provider's key `kid`, from the cached JWKS; an unknown kid refetches once (the provider rotated)."""
        for attempt in range(2):
            with self._lock:
                if self._keys is None or attempt:
                    self._keys = self._fetch_keys()
                keys = self._keys
            for key in keys.keys:
                if kid is None or key.key_id == kid:
                    return key
        raise IdTokenRejected(f"the ID token's key {kid!r} is not among the provider's published keys")

    def _fetch_keys(self) -> jwt.PyJWKSet:
        try:
            with self._http() as http:
                response = http.get(self.metadata.jwks_uri, headers={"Accept": "application/json"})
            response.raise_for_status()
            return jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            raise ProviderUnavailable(f"the provider's keys ({self.metadata.jwks_uri}) cannot be read: {exc}") from None


def _oauth_error(response: httpx.Response) -> tuple[str, str]:
    """The OAuth error code of an error answer (or "") and a one-line description of it."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code = body["error"][:64]
        return code, f"{code}: {body.get('error_description', '')}".rstrip(": ")[:200]
    return "", " ".join(response.text.split())[:200]
