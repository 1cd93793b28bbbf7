"""Boundary models of the people directory: a person as stored (`UserRecord`, with hashes and the sealed TOTP
secret), as shown (`User`, without them), their second-factor state and the directory's own audit trail.

A record carries a `revision` that the store compares on every replace, so two replicas accepting the same TOTP
code, or two admins changing one user, cannot both win.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from edgeauth.issuer.models import AwareDatetime, Engagement
from edgeauth.settings import PersonRole

__all__ = [
    "USERNAME_PATTERN",
    "Engagement",
    "PersonRole",
    "RecoveryCodes",
    "TotpState",
    "User",
    "UserAuditAction",
    "UserAuditEvent",
    "UserRecord",
    "Username",
    "is_username",
]

#: Lower-case ASCII letters and digits, then also `.`, `_`, `-` and `@` (federated names are often e-mail
#: addresses): no spaces, no look-alike Unicode, nothing a log line or a shell could misread.
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._@-]{0,63}$"
_USERNAME = re.compile(USERNAME_PATTERN)
Username = Annotated[str, Field(pattern=USERNAME_PATTERN)]
DisplayName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
Source = Annotated[str, Field(pattern=r"^(local|federated:https?://[\x21-\x7e]{1,256})$")]
UserAuditAction = Literal[
    "create",
    "disable",
    "enable",
    "reset-password",
    "set-roles",
    "set-engagement",
    "enrol-totp",
    "reset-mfa",
    "provision",
    "update",
]


def is_username(text: str) -> bool:
    return bool(_USERNAME.fullmatch(text))


def _email(value: str | None) -> str | None:
    # Deliberately loose (one @, a dot in the domain, no spaces): the address is a contact, never an identifier.
    if value is not None and not re.fullmatch(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}", value):
        raise ValueError("not an e-mail address")
    return value


Email = Annotated[str | None, AfterValidator(_email)]


class TotpState(BaseModel):
    """A TOTP authenticator: its secret sealed under the KEK, pending until a first valid code confirms it."""

    model_config = ConfigDict(frozen=True)

    sealed_secret: SecretStr
    created_at: AwareDatetime
    confirmed_at: AwareDatetime | None = None
    #: The highest time step ever accepted: a code of that step or an earlier one is refused (replay).
    last_step: int | None = None


class RecoveryCodes(BaseModel):
    """One-time recovery codes, stored as salted SHA-256 digests (the codes carry 80 random bits each)."""

    model_config = ConfigDict(frozen=True)

    salt: str
    digests: tuple[str, ...]
    generated_at: AwareDatetime


class UserRecord(BaseModel):
    """A person as stored. A federated user (`source` = `federated:<issuer>`) has no password here."""

    model_config = ConfigDict(frozen=True)

    username: Username
    display_name: DisplayName
    email: Email = None
    roles: frozenset[PersonRole] = Field(min_length=1)
    engagement: Engagement | None = None
    disabled: bool = False
    source: Source = "local"
    password_hash: SecretStr | None = None
    totp: TotpState | None = None
    recovery_codes: RecoveryCodes | None = None
    created_at: AwareDatetime
    created_by: str = Field(min_length=1, max_length=256)
    updated_at: AwareDatetime
    updated_by: str = Field(min_length=1, max_length=256)
    password_changed_at: AwareDatetime | None = None
    revision: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> UserRecord:
        if self.engagement is not None and "auditor" not in self.roles:
            raise ValueError("an engagement window is for auditors only")
        if self.source != "local" and self.password_hash is not None:
            raise ValueError("a federated user has no password here")
        return self

    @property
    def federated(self) -> bool:
        return self.source != "local"

    @property
    def totp_confirmed(self) -> bool:
        return self.totp is not None and self.totp.confirmed_at is not None


MfaStatus = Literal["none", "pending", "totp"]


class User(BaseModel):
    """A person as every caller sees them: no password hash, no TOTP secret, no recovery-code digests."""

    model_config = ConfigDict(frozen=True)

    username: str
    display_name: str
    email: str | None
    roles: tuple[PersonRole, ...]
    engagement: dict[str, str] | None
    disabled: bool
    source: str
    mfa: MfaStatus
    recovery_codes_left: int
    has_password: bool
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    password_changed_at: datetime | None

    @classmethod
    def of(cls, record: UserRecord) -> User:
        totp = record.totp
        return cls(
            username=record.username,
            display_name=record.display_name,
            email=record.email,
            roles=tuple(sorted(record.roles)),
            engagement=record.engagement.claim() if record.engagement else None,
            disabled=record.disabled,
            source=record.source,
            mfa="none" if totp is None else ("totp" if totp.confirmed_at else "pending"),
            recovery_codes_left=len(record.recovery_codes.digests) if record.recovery_codes else 0,
            has_password=record.password_hash is not None,
            created_at=record.created_at,
            created_by=record.created_by,
            updated_at=record.updated_at,
            updated_by=record.updated_by,
            password_changed_at=record.password_changed_at,
        )

    @property
    def federated(self) -> bool:
        return self.source != "local"


class UserAuditEvent(BaseModel):
    """Who changed which user, how and when: kept beside the users, in the same atomic write."""

    model_config = ConfigDict(frozen=True)

    timestamp: AwareDatetime
    actor: str = Field(min_length=1, max_length=256)
    action: UserAuditAction
    username: str
    detail: str = Field(default="", max_length=1024)
