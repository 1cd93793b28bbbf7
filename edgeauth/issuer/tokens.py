"""Access tokens of the issuer: minted in the RFC 9068 profile with the active key, and read back (for RFC 7009
revocation and RFC 7662 introspection) with the same strict RFC 8725 checks the edge applies."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from edgeauth import rfc8725
from edgeauth.errors import BadSignature, UnknownKeyId, VerificationError
from edgeauth.issuer.models import ClientRecord, Engagement
from edgeauth.issuer.refresh import RefreshRecord, RefreshTokenStore
from edgeauth.keys import SigningKey, load_jwks
from edgeauth.rfc9068 import mint_access_token
from edgeauth.settings import EdgeAuthSettings


class SigningKeys(Protocol):
    """What the issuer needs of the key store."""

    def active_signing_key(self) -> SigningKey: ...

    def publishable_jwks(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class MintedToken:
    token: str
    jti: str
    expires_at: int
    kid: str
    alg: str


class _EveryAudience:
    """The issuer reads back its own tokens whatever audience they were minted for."""

    def __contains__(self, item: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class AccessTokenMinter:
    def __init__(self, settings: EdgeAuthSettings, keys: SigningKeys) -> None:
        self._settings = settings
        self._keys = keys

    def mint(
        self,
        client: ClientRecord,
        *,
        subject: str,
        scopes: tuple[str, ...],
        audiences: tuple[str, ...],
        now: float | None = None,
        engagement: Engagement | None = None,
    ) -> MintedToken:
        """An access token for `client`; an engaged auditor's token (the client's engagement, or the person's
        given as `engagement`) never outlives the engagement."""
        moment = time.time() if now is None else now
        ttl = self._settings.access_token_ttl
        extra: dict[str, Any] = {}
        engaged = engagement if engagement is not None else client.engagement
        if engaged is not None:
            ttl = max(1, min(ttl, int(engaged.ends.timestamp() - moment)))
            extra["engagement"] = engaged.claim()
        jti = uuid.uuid4().hex
        key = self._keys.active_signing_key()
        token = mint_access_token(
            key,
            issuer=self._settings.issuer,
            subject=subject,
            audience=audiences,
            client_id=client.client_id,
            scopes=scopes,
            ttl=ttl,
            now=moment,
            jti=jti,
            extra_claims=extra,
        )
        return MintedToken(token=token, jti=jti, expires_at=int(moment) + ttl, kid=key.kid, alg=key.alg)

    def read(self, token: str, *, now: float | None = None) -> dict[str, Any]:
        """The claims of a live token this issuer signed, else a `VerificationError` naming the reason."""
        moment = time.time() if now is None else now
        parsed = rfc8725.parse(
            token, max_bytes=self._settings.max_token_bytes, allowed_algorithms=self._settings.allowed_algorithms
        )
        key = load_jwks(self._keys.publishable_jwks()).get(parsed.kid)
        if key is None:
            raise UnknownKeyId("no key with this kid")
        if key.alg != parsed.alg or not key.verify(parsed.signing_input, parsed.signature):
            raise BadSignature("signature does not verify")
        rfc8725.check_claims(
            parsed.claims,
            issuer=self._settings.issuer,
            audiences=_EveryAudience(),
            leeway=self._settings.leeway,
            now=moment,
        )
        return parsed.claims


class RevocationLedger(Protocol):
    """Where revoked access-token ids go (published to every verifier) and can be looked up."""

    def revoke(self, jti: str, expires_at: float) -> object: ...

    def is_revoked(self, jti: str) -> bool: ...


@dataclass(frozen=True)
class IssuedToken:
    """A token this issuer handed out, as revocation and introspection see it (authlib's TokenMixin)."""

    kind: str
    client_id: str
    subject: str
    scopes: tuple[str, ...]
    audiences: tuple[str, ...]
    expires_at: int
    issued_at: int | None = None
    jti: str | None = None
    claims: dict[str, Any] | None = None
    revoked: bool = False
    refresh: RefreshRecord | None = None

    def check_client(self, client: Any) -> bool:
        return bool(self.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return " ".join(self.scopes)

    def get_expires_in(self) -> int:
        return max(0, self.expires_at - int(time.time()))

    def is_expired(self) -> bool:
        return self.expires_at <= time.time()

    def is_revoked(self) -> bool:
        return self.revoked


def find_issued_token(
    token: str,
    hint: str | None,
    *,
    minter: AccessTokenMinter,
    refresh_tokens: RefreshTokenStore,
    ledger: RevocationLedger,
) -> IssuedToken | None:
    """The live token behind `token` (access JWT or refresh token), or None when it is unknown, expired or forged.

    The hint only orders the lookups (RFC 7009 2.1): a wrong hint still finds the token.
    """
    if not isinstance(token, str) or not token:
        return None
    order = ("refresh_token", "access_token") if hint == "refresh_token" else ("access_token", "refresh_token")
    for kind in order:
        if kind == "access_token" and token.count(".") == 2:
            try:
                claims = minter.read(token)
            except VerificationError:
                continue
            return IssuedToken(
                kind=kind,
                client_id=claims["client_id"],
                subject=claims["sub"],
                scopes=tuple(str(claims.get("scope", "")).split()),
                audiences=(claims["aud"],) if isinstance(claims["aud"], str) else tuple(claims["aud"]),
                expires_at=int(claims["exp"]),
                issued_at=int(claims["iat"]),
                jti=claims["jti"],
                claims=claims,
                revoked=ledger.is_revoked(claims["jti"]),
            )
        if kind == "refresh_token":
            peeked = refresh_tokens.peek(token)
            if peeked is None:
                continue
            record, consumed = peeked
            return IssuedToken(
                kind=kind,
                client_id=record.client_id,
                subject=record.subject,
                scopes=record.scopes,
                audiences=record.audiences,
                expires_at=record.expires_at,
                revoked=consumed or refresh_tokens.is_family_revoked(record.family),
                refresh=record,
            )
    return None


class IssuedTokenLookup:
    """`query_token` for authlib's revocation and introspection endpoints (RFC 7009 / RFC 7662)."""

    ledger: RevocationLedger
    server: Any

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return find_issued_token(
            token_string,
            token_type_hint,
            minter=self.server.minter,
            refresh_tokens=self.server.refresh_tokens,
            ledger=self.ledger,
        )
