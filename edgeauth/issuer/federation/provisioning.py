"""Who a federated person is here, decided from their upstream's verified claims alone (pure, no I/O).

The user name is their e-mail address, lower-cased, and only a verified one (`email_verified` true): an address the
upstream did not verify would let anyone who can register one there claim a domain here. The domain must be one of
`allowed_domains` exactly (no suffix match: `corp.example.evil` is not `corp.example`). Roles come from
`role_mapping` applied to `role_claim` (a list or a single string; `a.b` reads a nested claim such as Keycloak's
`realm_access.roles`); a person none of whose values maps is refused rather than let in without a role. An
auditor's engagement window comes from `engagement_claim`, as an object or its JSON text; an auditor without one
is let in unbounded only if the claim is absent, never when it is malformed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from edgeauth.issuer.federation.errors import ProvisioningRefused
from edgeauth.issuer.models import Engagement
from edgeauth.settings import FederatedRole, UpstreamSettings

MAX_NAME = 64


class Provisioned(BaseModel):
    """What the directory is told about a federated person."""

    model_config = ConfigDict(frozen=True)

    username: str
    display_name: str
    email: str
    roles: frozenset[FederatedRole]
    engagement: tuple[datetime, datetime] | None = None


def claim_at(claims: dict[str, Any], path: str) -> object:
    """The claim at a dotted path (`realm_access.roles`), or None."""
    value: object = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def mapped_roles(settings: UpstreamSettings, claims: dict[str, Any]) -> frozenset[FederatedRole]:
    raw = claim_at(claims, settings.role_claim)
    values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    # Keycloak's full-path group names start with "/": "/security-analysts" maps like "security-analysts".
    names = {v.lstrip("/") for v in values if isinstance(v, str)} | {v for v in values if isinstance(v, str)}
    return frozenset(settings.role_mapping[n] for n in names if n in settings.role_mapping)


def engagement_of(settings: UpstreamSettings, claims: dict[str, Any]) -> tuple[datetime, datetime] | None:
    raw = claim_at(claims, settings.engagement_claim)
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    try:
        window = Engagement.model_validate(raw)
    except ValidationError:
        raise ProvisioningRefused(
            "malformed_engagement",
            f"your account at {settings.display_name} carries an engagement window Vigil cannot read; "
            "ask its administrator to fix it",
        ) from None
    return window.starts, window.ends


def provision_from_claims(settings: UpstreamSettings, claims: dict[str, Any]) -> Provisioned:
    """The person to provision, or `ProvisioningRefused` with the reason and the message the person sees."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise ProvisioningRefused(
            "no_email", f"{settings.display_name} did not share your e-mail address; Vigil needs it to sign you in"
        )
    if claims.get("email_verified") is not True:
        raise ProvisioningRefused(
            "email_unverified", f"your e-mail address is not verified at {settings.display_name}; verify it there first"
        )
    username = email.strip().lower()
    domain = username.rsplit("@", 1)[1]
    if domain not in settings.allowed_domains:
        raise ProvisioningRefused(
            "domain_not_allowed",
            f"accounts at {domain} may not sign in to Vigil through {settings.display_name}; "
            "ask your Vigil administrator if this is wrong",
        )
    if len(username) > MAX_NAME:
        raise ProvisioningRefused("invalid_username", "your e-mail address is too long to be a Vigil user name")
    roles = mapped_roles(settings, claims)
    if not roles:
        raise ProvisioningRefused(
            "no_role",
            f"your account at {settings.display_name} is in no group that has a role in Vigil; "
            "ask your Vigil administrator for access",
        )
    engagement = engagement_of(settings, claims) if "auditor" in roles else None
    name = claims.get("name")
    display = name.strip() if isinstance(name, str) and name.strip() else username
    return Provisioned(
        username=username,
        display_name="".join(ch for ch in display if ch.isprintable())[:128] or username,
        email=username,
        roles=roles,
        engagement=engagement,
    )
