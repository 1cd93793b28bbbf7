"""RFC 7009 token revocation on authlib's `RevocationEndpoint`.

An access token's `jti` is published to every verifier through the revocation ledger until the token's own
expiry; a refresh token takes its whole family (and the access tokens minted from it) down with it.
"""

from __future__ import annotations

from typing import ClassVar

from authlib.oauth2 import rfc7009
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Error

from edgeauth.issuer.grants import TOKEN_AUTH_METHODS
from edgeauth.issuer.server import OAuthRequest, RegisteredClient
from edgeauth.issuer.tokens import IssuedToken, IssuedTokenLookup, RevocationLedger


class UnsupportedTokenType(OAuth2Error):  # type: ignore[misc]
    """RFC 7009 2.2.1: an error response in the sense of RFC 6749 5.2, so 400 (authlib's answers 401)."""

    error = "unsupported_token_type"
    status_code = 400


class RevocationEndpoint(IssuedTokenLookup, rfc7009.RevocationEndpoint):  # type: ignore[misc]
    # A public client (`vigil logout`) revokes its own refresh token with no credential (RFC 7009 2.1, 5).
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = [*TOKEN_AUTH_METHODS, "none"]

    def __init__(self, ledger: RevocationLedger) -> None:
        super().__init__(server=None)
        self.ledger = ledger

    def check_params(self, request: OAuthRequest, client: RegisteredClient) -> None:
        if "token" not in request.form:
            raise InvalidRequestError(description="the token parameter is required (RFC 7009 section 2.1)")
        hint = request.form.get("token_type_hint")
        if hint and hint not in self.SUPPORTED_TOKEN_TYPES:
            raise UnsupportedTokenType(
                description=f"token_type_hint must be one of {' '.join(self.SUPPORTED_TOKEN_TYPES)}"
            )

    def revoke_token(self, token: IssuedToken, request: OAuthRequest) -> None:
        if token.refresh is not None:
            self.server.refresh_tokens.revoke_family(token.refresh.family, token.refresh.family_expires_at)
        elif token.jti is not None:
            self.ledger.revoke(token.jti, token.expires_at)
        request.revoked_token = token
