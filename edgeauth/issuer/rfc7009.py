"""RFC 7009 token revocation on authlib's `RevocationEndpoint`.

An access token's `jti` is published to every verifier through the revocation ledger until the token's own
expiry; a refresh token takes its whole family (and the access tokens minted from it) down with it.
"""

from __future__ import annotations

from authlib.oauth2 import rfc7009

from edgeauth.issuer.grants import TOKEN_AUTH_METHODS
from edgeauth.issuer.server import OAuthRequest
from edgeauth.issuer.tokens import IssuedToken, IssuedTokenLookup, RevocationLedger


class RevocationEndpoint(IssuedTokenLookup, rfc7009.RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def __init__(self, ledger: RevocationLedger) -> None:
        super().__init__(server=None)
        self.ledger = ledger

    def revoke_token(self, token: IssuedToken, request: OAuthRequest) -> None:
        if token.refresh is not None:
            self.server.refresh_tokens.revoke_family(token.refresh.family, token.refresh.family_expires_at)
        elif token.jti is not None:
            self.ledger.revoke(token.jti, token.expires_at)
        request.revoked_token = token
