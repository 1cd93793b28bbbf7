"""People's grant: the authorization code grant (RFC 6749 4.1) with PKCE (RFC 7636, S256 only, required of every
client) and OpenID Connect Core 1.0 ID tokens, as authlib's `AuthorizationCodeGrant`, `CodeChallenge` and
`OpenIDCode` implement them.

Our part: codes live in `AuthorizationCodeStore` (one use, reuse revokes what the code issued), the person is
looked up again when the code is redeemed (gone or disabled: no tokens), scopes are what the client asked for
within what both the client and the person's roles allow, and the ID token is signed with the issuer's active
key by pyjwt (edgeauth's one JOSE library), so it verifies against the same JWKS as the access tokens.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Protocol

import jwt
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo
from authlib.oidc.core.util import create_half_hash

from edgeauth.issuer.accounts import Account, AccountLookup, UpstreamCheck
from edgeauth.issuer.codes import AuthorizationCode, AuthorizationCodeStore
from edgeauth.issuer.grants import RefreshTokenGrant, check_audiences, check_engagement
from edgeauth.issuer.models import OIDC_SCOPES, ClientRecord
from edgeauth.issuer.refresh import RefreshRecord
from edgeauth.issuer.server import IssuerServer, OAuthRequest
from edgeauth.issuer.sessions import BrowserState
from edgeauth.issuer.tokens import RevocationLedger, SigningKeys

# OpenID Connect Core 5.4: the claims each scope releases (besides `sub`).
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "preferred_username"),
    "email": ("email", "email_verified"),
}
CLAIMS_SUPPORTED = (
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "acr",
    "azp",
    "at_hash",
    "sid",
    *SCOPE_CLAIMS["profile"],
    *SCOPE_CLAIMS["email"],
)
# Authentication context classes we assert: a password alone, or a password and a second factor.
ACR_PASSWORD = "urn:vigil:acr:pwd"  # noqa: S105 - an authentication context class, not a secret
ACR_MFA = "urn:vigil:acr:mfa"
PEOPLE_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


def grantable_scopes(requested: set[str], client: ClientRecord, account: Account) -> tuple[str, ...]:
    """What a person's token may carry: asked for, held by the client, and allowed by the person's roles
    (OpenID Connect scopes need only the client)."""
    return tuple(sorted(s for s in requested if s in client.scopes and (s in OIDC_SCOPES or s in account.scopes)))


def user_claims(account: Account, scopes: set[str]) -> UserInfo:
    """`sub` always; `name`, `preferred_username` with `profile`; `email` with `email` (Core 5.4)."""
    claims = UserInfo(sub=account.subject)
    if "profile" in scopes:
        claims["name"] = account.name
        claims["preferred_username"] = account.subject
    if "email" in scopes and account.email:
        claims["email"] = account.email
        # The directory records addresses an administrator typed; nobody proved they receive mail there.
        claims["email_verified"] = False
    return claims


class SessionEvents(Protocol):
    """The part of people's event vocabulary (`edgeauth.people.PeopleEvents`) the grants emit."""

    def session_revoked(
        self, username: str, *, actor: str | None, reason: str, source_ip: str | None = None
    ) -> None: ...


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    """RFC 7636 with `plain` refused and a challenge required of every client, public or confidential
    (RFC 9700 2.1.1); the method must be named (no silent default)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256 (plain is not accepted)")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """RFC 6749 4.1 over `AuthorizationCodeStore`; public clients authenticate with `none` (PKCE is their proof)."""

    TOKEN_ENDPOINT_AUTH_METHODS = PEOPLE_AUTH_METHODS
    request: OAuthRequest
    server: PeopleServer

    def save_authorization_code(self, code: str, request: OAuthRequest) -> None:
        """Already stored: `generate_authorization_code` saves the code with the sign-in it came from."""

    def generate_authorization_code(self) -> str:
        return self.server.new_code(self.request)

    def query_authorization_code(self, code: str, client: Any) -> AuthorizationCode | None:
        record, issued = self.server.codes.redeem(code, client.get_client_id())
        if issued is not None:
            self.request.decision_reason = "code_reuse"
            self.server.revoke_issued(issued)
            raise InvalidGrantError("authorization code already used; what it issued is revoked")
        if record is not None:
            self.request.redeemed_code = code
        return record

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing left to delete: redeeming consumed it."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Account | None:
        account = self.server.person(authorization_code.subject)
        client: ClientRecord = self.request.client.record
        if account is None:
            raise InvalidGrantError("the person of this code can no longer sign in")
        check_engagement(client)
        self.request.person = account
        self.request.session_id = authorization_code.session_id
        self.request.sign_in_ends = authorization_code.session_expires_at
        self.request.granted_scopes = grantable_scopes(set(authorization_code.scope.split()), client, account)
        self.request.granted_audiences = check_audiences(client, ())
        return account

    def generate_token(self, user: Account | None = None, scope: str | None = None, **_: Any) -> dict[str, Any]:
        client: ClientRecord = self.request.client.record
        result: dict[str, Any] = self.server.issue(
            self.request, with_refresh_token="refresh_token" in client.grant_types
        )
        self.server.after_person_grant(self.request, result)
        return result


class IdTokens(OpenIDCode):  # type: ignore[misc]
    """OpenID Connect Core 3.1.3.6/3.1.3.7 ID tokens, signed by the issuer's active key (the same JWKS)."""

    def __init__(self, server: PeopleServer) -> None:
        super().__init__(require_nonce=False)
        self._server = server

    def exists_nonce(self, nonce: str, request: OAuthRequest) -> bool:
        return self._server.codes.nonce_seen(str(request.payload.client_id), nonce)

    def generate_user_info(self, user: Account, scope: str) -> UserInfo:
        return user_claims(user, set(scope.split()))

    def encode_id_token(self, token: dict[str, Any], request: OAuthRequest) -> str:
        code: AuthorizationCode = request.authorization_code
        assert request.person is not None, "authenticate_user ran before the token response"
        return self._server.id_token(
            request.person, client_id=request.client.get_client_id(), code=code, access_token=token["access_token"]
        )


class PeopleServer(IssuerServer):
    """`IssuerServer` with what people's grants need: codes, the directory, ID token signing and session links."""

    def __init__(
        self,
        *,
        codes: AuthorizationCodeStore,
        accounts: AccountLookup,
        upstream: UpstreamCheck,
        keys: SigningKeys,
        browser: BrowserState,
        ledger: RevocationLedger,
        issuer: str,
        id_token_ttl: int,
        events: SessionEvents | None = None,
        **base: Any,
    ) -> None:
        super().__init__(**base)
        self.events = events
        self.codes = codes
        self.accounts = accounts
        self.upstream = upstream
        self.keys = keys
        self.browser = browser
        self.ledger = ledger
        self.issuer = issuer
        self.id_token_ttl = id_token_ttl

    def session_revoked(self, subject: str, reason: str) -> None:
        """Tell the audit trail a person's session ended without them signing out (people's `session-revoked`)."""
        if self.events is not None:
            self.events.session_revoked(subject, actor=None, reason=reason)

    def person(self, subject: str) -> Account | None:
        """The person behind a grant if they may still hold tokens: present, enabled, vouched for upstream."""
        account = self.accounts.account(subject)
        return account if account is not None and self.upstream.still_allowed(account) else None

    def new_code(self, request: OAuthRequest) -> str:
        sign_in = request.sign_in
        assert sign_in is not None, "the authorizer issues codes to signed-in sessions only"
        payload = request.payload
        client: ClientRecord = request.client.record
        record = AuthorizationCode(
            client_id=client.client_id,
            redirect_uri=payload.redirect_uri,
            scope=" ".join(sorted(set((request.scope or "").split()))),
            subject=sign_in.subject,
            session_id=sign_in.sid,
            session_expires_at=sign_in.expires_at,
            nonce=payload.data.get("nonce") or None,
            auth_time=sign_in.auth_time,
            amr=sign_in.amr,
            acr=sign_in.acr,
            code_challenge=payload.data["code_challenge"],
            code_challenge_method=payload.data["code_challenge_method"],
            expires_at=self.codes.new_expiry(),
        )
        return self.codes.save(record)

    def after_person_grant(self, request: OAuthRequest, response: dict[str, Any]) -> None:
        """Remember what the code issued (for reuse revocation) and list a new family with its session."""
        minted = request.minted
        family = request.refresh_issued
        assert minted is not None
        assert request.redeemed_code is not None
        self.codes.record_issued(
            request.redeemed_code,
            jti=minted.jti,
            expires_at=minted.expires_at,
            family=family.family if family else None,
            family_expires_at=family.family_expires_at if family else 0,
        )
        if family is not None and request.session_id:
            self.browser.add_family(request.session_id, family.family, family.family_expires_at)

    def revoke_issued(self, issued: dict[str, str]) -> None:
        """A code presented twice: its access token and refresh-token family are revoked (RFC 6749 4.1.2)."""
        if "jti" in issued:
            self.ledger.revoke(issued["jti"], float(issued["exp"]))
        if "family" in issued:
            self.refresh_tokens.revoke_family(issued["family"], int(issued["family_exp"]))

    def id_token(self, account: Account, *, client_id: str, code: AuthorizationCode, access_token: str) -> str:
        key = self.keys.active_signing_key()
        now = int(time.time())
        claims: dict[str, Any] = {
            **user_claims(account, set(code.scope.split())),
            "iss": self.issuer,
            "sub": account.subject,
            "aud": client_id,
            "azp": client_id,
            "exp": now + self.id_token_ttl,
            "iat": now,
            "auth_time": code.auth_time,
            "amr": list(code.amr),
            "sid": code.session_id,
        }
        if code.acr:
            claims["acr"] = code.acr
        if code.nonce:
            claims["nonce"] = code.nonce
        at_hash = create_half_hash(access_token, key.alg)
        if at_hash is not None:
            claims["at_hash"] = at_hash.decode("ascii")
        return jwt.encode(claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": "JWT"})


class PeopleRefreshTokenGrant(RefreshTokenGrant):
    """Refresh with rotation (the machine clients' grant), plus for a person's family: the person must still exist,
    be enabled and (federated) be vouched for upstream, or the whole family is revoked; their scopes are re-cut to
    what their roles allow today. The family's absolute lifetime (a working day) was fixed when it began."""

    TOKEN_ENDPOINT_AUTH_METHODS = PEOPLE_AUTH_METHODS
    server: PeopleServer

    def validate_token_request(self) -> None:
        super().validate_token_request()
        record: RefreshRecord = self.request.refresh_token
        if record.session_id is None:
            return
        account = self.server.person(record.subject)
        if account is None:
            self.server.refresh_tokens.revoke_family(record.family, record.family_expires_at)
            self.server.session_revoked(record.subject, "refused at refresh: gone, disabled or refused upstream")
            self.request.decision_reason = "person_refused"
            raise InvalidGrantError("this person can no longer sign in; their session is revoked")
        client: ClientRecord = self.request.client.record
        self.request.person = account
        self.request.session_id = record.session_id
        self.request.granted_scopes = grantable_scopes(set(self.request.granted_scopes), client, account)
