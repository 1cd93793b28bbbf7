"""OpenID Connect Discovery 1.0: where a provider's endpoints are, read from its own metadata document.

Who calls it: the console's and the CLI's relying party, once per process (and again when a key is unknown). The
issuer in the document must equal the one asked for exactly (Discovery section 4.3), so a document served from
elsewhere cannot redirect the sign-in to another issuer.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from vigil.signin.errors import ProviderUnavailable

WELL_KNOWN = "/.well-known/openid-configuration"
MAX_DOCUMENT_BYTES = 64 * 1024
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def plain_http_allowed(url: str) -> bool:
    """https everywhere, plain http on loopback only (a local provider; nothing crosses a network)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and (parts.hostname or "") in LOOPBACK)


def issuer_url(text: str) -> str:
    """An issuer identifier as configured or typed: https (or loopback http), no query or fragment."""
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if not parts.hostname or parts.query or parts.fragment or not plain_http_allowed(url):
        raise ProviderUnavailable(f"{text!r} is not an issuer URL (https, or http on 127.0.0.1; no query)")
    return url


class ProviderMetadata(BaseModel):
    """The fields of the discovery document a relying party uses; the rest is ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    revocation_endpoint: str | None = None
    end_session_endpoint: str | None = None
    code_challenge_methods_supported: tuple[str, ...] = ()
    id_token_signing_alg_values_supported: tuple[str, ...] = ("RS256",)

    @field_validator(
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "revocation_endpoint",
        "end_session_endpoint",
    )
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not plain_http_allowed(value):
            raise ValueError("must be https (or http on loopback)")
        return value


def discover(http: httpx.Client, issuer: str) -> ProviderMetadata:
    """The provider's metadata; refuses one that names another issuer or cannot do PKCE S256."""
    url = issuer_url(issuer) + WELL_KNOWN
    try:
        response = http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"the identity provider at {issuer} cannot be reached: {exc}") from None
    if response.status_code != 200:
        raise ProviderUnavailable(f"{url} answered {response.status_code}; is {issuer} an OpenID provider?")
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise ProviderUnavailable(f"{url} is over {MAX_DOCUMENT_BYTES} bytes")
    try:
        metadata = ProviderMetadata.model_validate_json(response.content)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ProviderUnavailable(f"{url}: {where}: {first['msg']}") from None
    if metadata.issuer.rstrip("/") != issuer_url(issuer):
        raise ProviderUnavailable(f"{url} names issuer {metadata.issuer!r}, not {issuer!r}")
    if "S256" not in metadata.code_challenge_methods_supported:
        raise ProviderUnavailable(f"{issuer} does not offer PKCE with S256 (code_challenge_methods_supported)")
    return metadata
