"""Grant types and client authentication, as authlib implements them, with our policy on top.

authlib validates the grant and authenticates the client; these subclasses only add what authlib leaves to
the server: which scopes and audiences a client may get, the engagement period of auditor clients, refresh-token
storage with reuse detection, and `private_key_jwt` (RFC 7523): the assertion is parsed by edgeauth's own strict
JWS parser (`rfc8725.parse_assertion`), verified against the client's registered keys, bounded in lifetime and
accepted once per `jti`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, cast

import redis
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion

from edgeauth import rfc8725
from edgeauth.errors import VerificationError
from edgeauth.issuer.models import ClientRecord
from edgeauth.issuer.refresh import RefreshRecord
from edgeauth.issuer.server import IssuerServer, OAuthRequest, RegisteredClient
from edgeauth.keys import load_jwks

TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
MAX_JTI_CHARS = 256
# An assertion of the largest key we accept (RSA 4096) is about 1 KB; anything far larger is refused unread.
MAX_ASSERTION_BYTES = 8192
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    """RFC 8707 section 2: the requested audience is not one this client may address."""

    error = "invalid_target"


def check_engagement(client: ClientRecord) -> None:
    if client.engagement is not None and not client.engagement.covers(datetime.now(UTC)):
        raise UnauthorizedClientError(
            f"the engagement of this client runs {client.engagement.starts.isoformat()} to "
            f"{client.engagement.ends.isoformat()}; no tokens outside it"
        )


def _check_scopes(client: ClientRecord, scopes: tuple[str, ...]) -> tuple[str, ...]:
    outside = sorted(set(scopes) - client.scopes)
    if outside:
        raise InvalidScopeError(f"scope not allowed for this client: {' '.join(outside)}")
    return tuple(sorted(set(scopes)))


def check_audiences(client: ClientRecord, requested: tuple[str, ...]) -> tuple[str, ...]:
    audiences = tuple(dict.fromkeys(requested)) if requested else client.audiences
    outside = [a for a in audiences if a not in client.audiences]
    if outside:
        raise InvalidTargetError("audience not allowed for this client")
    return audiences


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    """RFC 6749 4.4. A client allowed `refresh_token` also gets a refresh token, to renew without its secret."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    request: OAuthRequest
    server: IssuerServer

    def validate_token_request(self) -> None:
        super().validate_token_request()
        client: ClientRecord = self.request.client.record
        check_engagement(client)
        requested = tuple(scope_to_list(self.request.payload.scope) or ())
        self.request.granted_scopes = _check_scopes(client, requested or tuple(client.scopes))
        self.request.granted_audiences = check_audiences(client, self.request.issuer_request.audiences)

    def generate_token(self, **_: Any) -> dict[str, Any]:
        client: ClientRecord = self.request.client.record
        result: dict[str, Any] = self.server.issue(
            self.request, with_refresh_token="refresh_token" in client.grant_types
        )
        return result


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """RFC 6749 section 6 with rotation: every use returns a new refresh token and consumes the old one."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    request: OAuthRequest
    server: IssuerServer

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshRecord | None:
        record, reused = self.server.refresh_tokens.lookup(refresh_token)
        if reused:
            self.request.decision_reason = "refresh_reuse"
            raise InvalidGrantError("refresh token reused; every token of its family is revoked")
        if record is not None:
            self.request.parent_refresh = (refresh_token, record)
        return record

    def validate_token_request(self) -> None:
        super().validate_token_request()
        client: ClientRecord = self.request.client.record
        check_engagement(client)
        record: RefreshRecord = self.request.refresh_token
        requested = tuple(scope_to_list(self.request.payload.scope) or ()) or record.scopes
        # The client's grants may have shrunk since the family began: re-check against today's registry.
        self.request.granted_scopes = _check_scopes(client, requested)
        self.request.granted_audiences = (
            check_audiences(client, self.request.issuer_request.audiences)
            if (self.request.issuer_request.audiences)
            else check_audiences(client, record.audiences)
        )

    def authenticate_user(self, refresh_token: RefreshRecord) -> RefreshRecord:
        return refresh_token

    def issue_token(self, user: RefreshRecord, refresh_token: RefreshRecord) -> dict[str, Any]:
        result: dict[str, Any] = self.server.issue(self.request, with_refresh_token=True)
        return result

    def revoke_old_credential(self, refresh_token: RefreshRecord) -> None:
        assert self.request.parent_refresh is not None
        token, record = self.request.parent_refresh
        if not self.server.refresh_tokens.consume(token, record):
            self.request.decision_reason = "refresh_reuse"
            raise InvalidGrantError("refresh token already used; its family is revoked")


class PrivateKeyJwtAuth(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 section 2.2 client authentication, with a bounded assertion lifetime and one use per `jti`."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(
        self,
        *,
        audiences: list[str],
        algorithms: list[str],
        client: redis.Redis,
        prefix: str,
        max_lifetime: int,
    ) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self._audiences = audiences
        self._algorithms = algorithms
        self._redis = client
        self._prefix = f"{prefix}:assertion-jti"
        self._max_lifetime = max_lifetime

    def get_audiences(self) -> list[str]:
        return self._audiences

    def __call__(self, query_client: Any, request: Any) -> RegisteredClient | None:
        """authlib's RFC 7523 flow, with the assertion parsed by `rfc8725.parse_assertion` (the one JWS parser of
        edgeauth) and its signature checked against the client's registered keys only (never keys it names)."""
        form = request.form
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
            return None
        try:
            parsed = rfc8725.parse_assertion(
                assertion, max_bytes=MAX_ASSERTION_BYTES, allowed_algorithms=self._algorithms
            )
        except VerificationError as exc:
            raise InvalidClientError(description=exc.description) from None
        client_id = parsed.claims.get("sub")
        if not isinstance(client_id, str):
            raise InvalidClientError(description="Invalid claim: 'sub'")
        client = query_client(client_id)
        if not client:
            raise InvalidClientError(description="The client does not exist on this server.")
        if client.record is None or client.record.jwks is None:
            raise InvalidClientError(description=f"The client cannot authenticate with {self.CLIENT_AUTH_METHOD}.")
        keys = load_jwks(client.record.jwks)
        # A named kid must be one of the client's; without one, each of its keys of that alg is tried.
        candidates = [keys[k] for k in (parsed.kid,) if k in keys] if parsed.kid else list(keys.values())
        if not any(k.alg == parsed.alg and k.verify(parsed.signing_input, parsed.signature) for k in candidates):
            raise InvalidClientError(description="The assertion is not signed by a key of this client.")
        request.client = client
        self.verify_claims(parsed.claims)
        return cast(RegisteredClient, self.authenticate_client(client))

    def verify_claims(self, claims: dict[str, Any]) -> None:
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise InvalidClientError(description="The assertion needs a numeric 'exp'.")
        if exp - time.time() > self._max_lifetime:
            raise InvalidClientError(description=f"The assertion may live at most {self._max_lifetime} s.")
        super().verify_claims(claims)

    def validate_jti(self, claims: dict[str, Any], jti: object) -> bool:
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_CHARS:
            return False
        ttl = max(1, int(float(claims["exp"]) - time.time()) + self.leeway)
        # SET NX: the first use of a jti wins; a replay within the assertion's life is refused.
        return bool(self._redis.set(f"{self._prefix}:{claims['sub']}:{jti}", b"1", nx=True, ex=ttl))
