"""The people directory seen by the OpenID Connect provider: `edgeauth.people`'s `PeopleDirectory` behind
`AccountLookup`, so a grant, a refresh and userinfo all ask the same question (does this person exist, enabled,
inside their engagement, and what may their roles do)."""

from __future__ import annotations

from datetime import UTC, datetime

from edgeauth.issuer.accounts import Account
from edgeauth.issuer.models import ROLE_SCOPES
from edgeauth.people import PeopleDirectory, UserNotFound


class DirectoryAccounts:
    """`AccountLookup` over `PeopleDirectory`: a disabled person, or an auditor outside their engagement, is None."""

    def __init__(self, directory: PeopleDirectory) -> None:
        self._directory = directory

    def account(self, subject: str) -> Account | None:
        try:
            record = self._directory.get(subject)
        except UserNotFound:
            return None
        if record.disabled:
            return None
        if record.engagement is not None and not record.engagement.covers(datetime.now(UTC)):
            return None
        scopes = frozenset().union(*(ROLE_SCOPES[role] for role in record.roles))
        return Account(
            subject=record.username,
            name=record.display_name,
            email=record.email,
            scopes=scopes,
            engagement=record.engagement,
            source=record.source,
        )
