"""One upstream OpenID Connect provider, with Vigil's issuer as its relying party (OpenID Connect Core 1.0, code
flow; RFC 7636 PKCE S256).

Discovery (OpenID Connect Discovery 1.0: the document's `issuer` must equal the configured one), the authorization
request with state, nonce and a code challenge, the code exchange, and refresh are authlib's OAuth 2.0 client;
every ID token is verified here before a claim of it is believed: signature against the upstream's JWKS (one
refetch when a `kid` is unknown: the upstream rotated), then `iss`, `aud`, `azp`, `exp`, `iat`, `nonce` and
`at_hash` by authlib's `CodeIDToken` (Core 3.1.3.7).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from authlib.oidc.core import CodeIDToken, IDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from pydantic import BaseModel, ConfigDict, SecretStr

from edgeauth.issuer.federation.errors import UpstreamRefused, UpstreamUnavailable
from edgeauth.settings import UpstreamSettings

#: Discovery documents and key sets are re-read this often (a key the upstream rotated in is also fetched at once).
METADATA_TTL = 3600.0
#: Clock skew tolerated on `exp`/`iat` between the upstream and us, seconds.
LEEWAY = 60


class UpstreamIdentity(BaseModel):
    """What the upstream vouched for: the verified ID token claims (merged with userinfo), and the refresh token
    that lets Vigil ask again later."""

    model_config = ConfigDict(frozen=True)

    claims: dict[str, Any]
    refresh_token: SecretStr | None = None


class UpstreamProvider:
    """The relying-party side of one upstream; thread-safe enough for a web worker (cached documents are replaced
    whole, never mutated)."""

    def __init__(self, settings: UpstreamSettings, redirect_uri: str) -> None:
        self.settings = settings
        self.redirect_uri = redirect_uri
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._keys: tuple[float, KeySet] | None = None

    # -- documents -----------------------------------------------------------------------------------------------
    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self.settings.timeout, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"{self.settings.display_name} does not answer ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise UpstreamUnavailable(f"{self.settings.display_name} answered {response.status_code} for {url}")
        try:
            body = response.json()
        except ValueError:
            raise UpstreamUnavailable(f"{self.settings.display_name} sent a document that is not JSON") from None
        if not isinstance(body, dict):
            raise UpstreamUnavailable(f"{self.settings.display_name} sent a document that is not a JSON object")
        return body

    def metadata(self) -> dict[str, Any]:
        """The discovery document, whose `issuer` must be the configured one exactly (Discovery 4.3)."""
        now = time.monotonic()
        if self._metadata is not None and now - self._metadata[0] < METADATA_TTL:
            return self._metadata[1]
        document = self._get_json(f"{self.settings.issuer}/.well-known/openid-configuration")
        if document.get("issuer") != self.settings.issuer:
            raise UpstreamUnavailable(
                f"{self.settings.display_name}'s discovery names issuer {document.get('issuer')!r}, "
                f"not the configured {self.settings.issuer!r}"
            )
        for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(endpoint), str):
                raise UpstreamUnavailable(f"{self.settings.display_name}'s discovery has no {endpoint}")
        self._metadata = (now, document)
        return document

    def _key_set(self, *, refetch: bool = False) -> KeySet:
        now = time.monotonic()
        if not refetch and self._keys is not None and now - self._keys[0] < METADATA_TTL:
            return self._keys[1]
        try:
            keys = KeySet.import_key_set(self._get_json(self.metadata()["jwks_uri"]))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError):
            raise UpstreamUnavailable(f"{self.settings.display_name}'s JWKS does not parse") from None
        self._keys = (now, keys)
        return keys

    def _client(self) -> Any:
        return OAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret.get_secret_value(),
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name, not a secret
            scope=" ".join(self.settings.scopes),
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=self.settings.timeout,
        )

    # -- the code flow -------------------------------------------------------------------------------------------
    def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        with self._client() as client:
            url, _ = client.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=state, nonce=nonce, code_verifier=code_verifier
            )
        return str(url)

    def exchange(self, code: str, *, code_verifier: str, nonce: str) -> UpstreamIdentity:
        """The code redeemed (with its PKCE verifier) and the ID token verified against `nonce`."""
        token = self._token_request(
            lambda client: client.fetch_token(
                self.metadata()["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
        )
        return self._identity(token, nonce=nonce)

    def refresh(self, refresh_token: SecretStr) -> UpstreamIdentity:
        """Ask the upstream again. `UpstreamRefused` when it no longer vouches (the person is disabled there, their
        session ended); `UpstreamUnavailable` when it cannot be asked."""
        token = self._token_request(
            lambda client: client.refresh_token(
                self.metadata()["token_endpoint"], refresh_token=refresh_token.get_secret_value()
            )
        )
        return self._identity(token, nonce=None)

    def _token_request(self, call: Any) -> dict[str, Any]:
        try:
            with self._client() as client:
                token = call(client)
        except OAuthError as exc:
            raise UpstreamRefused(str(exc.error or "invalid_grant"), exc.description or "") from None
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"{self.settings.display_name} does not answer ({type(exc).__name__})") from None
        if not isinstance(token, dict) or not isinstance(token.get("id_token"), str):
            raise UpstreamRefused("invalid_token", "the token response carries no ID token (is `openid` a scope?)")
        return dict(token)

    def _identity(self, token: dict[str, Any], *, nonce: str | None) -> UpstreamIdentity:
        claims = self.verify_id_token(token["id_token"], access_token=token.get("access_token"), nonce=nonce)
        refresh = token.get("refresh_token")
        return UpstreamIdentity(claims=claims, refresh_token=SecretStr(refresh) if isinstance(refresh, str) else None)

    def verify_id_token(self, id_token: str, *, access_token: str | None, nonce: str | None) -> dict[str, Any]:
        """The ID token's claims once its signature and every claim check passed; `UpstreamRefused` otherwise.
        A first sign-in passes its `nonce` (required, equal); a refresh passes None (Core 12.2: it may repeat it)."""
        metadata = self.metadata()
        registry = JWSRegistry(algorithms=metadata.get("id_token_signing_alg_values_supported") or ["RS256"])
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set(), registry=registry)
            except InvalidKeyIdError:
                decoded = jwt.decode(id_token, self._key_set(refetch=True), registry=registry)
        except (JoseError, ValueError) as exc:
            raise UpstreamRefused("invalid_id_token", f"signature: {type(exc).__name__}") from None
        params: dict[str, Any] = {"client_id": self.settings.client_id}
        if nonce is not None:
            params["nonce"] = nonce
        if access_token is not None:
            params["access_token"] = access_token
        claims_cls = CodeIDToken if nonce is not None else IDToken
        options = {
            "iss": {"essential": True, "values": [self.settings.issuer]},
            "aud": {"essential": True, "values": [self.settings.client_id]},
        }
        checked = claims_cls(decoded.claims, decoded.header, options, params)
        try:
            checked.validate(now=int(time.time()), leeway=LEEWAY)
        except JoseError as exc:
            raise UpstreamRefused("invalid_id_token", str(exc)[:200]) from None
        return dict(decoded.claims)
