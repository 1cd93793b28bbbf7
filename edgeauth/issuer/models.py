"""Boundary models of the issuer: registered clients, their audit trail and what a creation hands back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

ClientId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
# RFC 6749 3.3 scope-token: %x21 / %x23-5B / %x5D-7E
Scope = Annotated[str, Field(pattern=r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$")]
Audience = Annotated[str, Field(pattern=r"^[\x21-\x7e]{1,256}$")]
# `none`: a public client (a CLI, a native app) that holds no credential and proves itself by PKCE alone.
AuthMethod = Literal["client_secret", "private_key_jwt", "none"]
Role = Literal["admin", "analyst", "auditor", "ingest", "edge", "custom"]
GrantType = Literal["client_credentials", "refresh_token", "authorization_code"]
# A redirect URI as registered: absolute http(s), no fragment (RFC 6749 3.1.2), printable ASCII.
RedirectUri = Annotated[str, Field(pattern=r"^https?://[\x21-\x7e]{1,2000}$")]
AuditAction = Literal["create", "rotate", "disable", "enable", "review", "update", "rehash"]

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset({"admin"}),
    # analysts hunt back in time (retro-hunts write only hunt-tagged alerts); changing rules stays `rules:admin`
    "analyst": frozenset({"alerts:read", "alerts:triage", "hunt:run"}),
    "auditor": frozenset({"evidence:read", "compliance:read"}),
    "ingest": frozenset({"ingest:write"}),
    # An edge verifier outside Vigil's processes reports its decisions over HTTP and may do nothing else.
    "edge": frozenset({"ingest:auth"}),
    "custom": frozenset(),
}


# OpenID Connect scopes (Core 5.4): every people-facing client may ask for them, whatever its role.
OIDC_SCOPES: frozenset[str] = frozenset({"openid", "profile", "email"})


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a timezone (RFC 3339 with offset)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Engagement(BaseModel):
    """The period an auditor client may obtain tokens in."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    starts: AwareDatetime = Field(alias="from")
    ends: AwareDatetime = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Engagement:
        if self.ends <= self.starts:
            raise ValueError("the engagement must end after it starts")
        return self

    def covers(self, moment: datetime) -> bool:
        return self.starts <= moment < self.ends

    def claim(self) -> dict[str, str]:
        return {"from": self.starts.isoformat(), "to": self.ends.isoformat()}


class ClientRecord(BaseModel):
    """A registered client as stored: `secret_hash` is a keyed hash (`edgeauth.issuer.clientsecrets`)."""

    model_config = ConfigDict(frozen=True)

    client_id: ClientId
    auth_method: AuthMethod
    secret_hash: SecretStr | None = None
    jwks: dict[str, Any] | None = None
    scopes: frozenset[Scope] = frozenset()
    audiences: tuple[Audience, ...] = Field(min_length=1)
    grant_types: frozenset[GrantType] = frozenset({"client_credentials"})
    role: Role = "custom"
    engagement: Engagement | None = None
    disabled: bool = False
    description: str = Field(default="", max_length=256)
    # People-facing clients (authorization code flow): where codes and logouts may go, and whether consent is
    # skipped (first-party clients only: the console, `vigil login`).
    redirect_uris: tuple[RedirectUri, ...] = ()
    post_logout_redirect_uris: tuple[RedirectUri, ...] = ()
    first_party: bool = False
    created_at: AwareDatetime
    rotated_at: AwareDatetime | None = None
    reviewed_at: AwareDatetime | None = None
    reviewed_by: str | None = None

    @model_validator(mode="after")
    def _credential_matches_method(self) -> ClientRecord:
        if self.auth_method == "client_secret" and self.secret_hash is None:
            raise ValueError("a client_secret client needs a secret hash")
        if self.auth_method == "private_key_jwt" and not self.jwks:
            raise ValueError("a private_key_jwt client needs a public JWKS")
        if self.auth_method == "none" and (self.secret_hash is not None or self.jwks):
            raise ValueError("a public client holds no credential")
        if self.auth_method == "none" and "client_credentials" in self.grant_types:
            raise ValueError("a public client cannot use client_credentials")
        if ("authorization_code" in self.grant_types) != bool(self.redirect_uris):
            raise ValueError("the authorization_code grant and redirect URIs go together")
        for uri in (*self.redirect_uris, *self.post_logout_redirect_uris):
            if "#" in uri:
                raise ValueError(f"redirect URI {uri!r} may not carry a fragment (RFC 6749 3.1.2)")
        return self

    @property
    def public(self) -> bool:
        return self.auth_method == "none"


class ClientPublic(BaseModel):
    """What listings and `show` print: everything but the credential."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    auth_method: AuthMethod
    key_ids: tuple[str, ...]
    scopes: tuple[str, ...]
    audiences: tuple[str, ...]
    grant_types: tuple[str, ...]
    role: Role
    engagement: dict[str, str] | None
    disabled: bool
    description: str
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    first_party: bool = False
    created_at: datetime
    rotated_at: datetime | None
    reviewed_at: datetime | None
    reviewed_by: str | None

    @classmethod
    def of(cls, record: ClientRecord) -> ClientPublic:
        keys = (record.jwks or {}).get("keys", [])
        return cls(
            client_id=record.client_id,
            auth_method=record.auth_method,
            key_ids=tuple(str(k.get("kid", "")) for k in keys if isinstance(k, dict)),
            scopes=tuple(sorted(record.scopes)),
            audiences=record.audiences,
            grant_types=tuple(sorted(record.grant_types)),
            role=record.role,
            engagement=record.engagement.claim() if record.engagement else None,
            disabled=record.disabled,
            description=record.description,
            redirect_uris=record.redirect_uris,
            post_logout_redirect_uris=record.post_logout_redirect_uris,
            first_party=record.first_party,
            created_at=record.created_at,
            rotated_at=record.rotated_at,
            reviewed_at=record.reviewed_at,
            reviewed_by=record.reviewed_by,
        )


class ClientAuditEvent(BaseModel):
    """Who changed which client, how and when."""

    model_config = ConfigDict(frozen=True)

    timestamp: AwareDatetime
    actor: str = Field(min_length=1, max_length=128)
    action: AuditAction
    client_id: str
    detail: str = ""


class IssuedCredential(BaseModel):
    """The one moment a client secret is visible: returned by create/rotate, never stored or logged."""

    model_config = ConfigDict(frozen=True)

    client: ClientPublic
    client_secret: SecretStr | None = None
