"""What the OpenID Connect provider needs to know about a person, and the hooks that decide whether they may still
hold tokens.

The provider never reads the user directory's storage: `edgeauth.people` answers through `AccountLookup`
(adapted in `edgeauth.issuer.directory`). `UpstreamCheck` is where a federated person's identity provider is
asked again at each refresh (the federation plugs in there); a local person has no upstream and passes.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict

from edgeauth.issuer.models import Engagement


class Account(BaseModel):
    """A person who may hold tokens now: present and enabled in the directory."""

    model_config = ConfigDict(frozen=True)

    subject: str
    name: str
    email: str | None = None
    # What their roles allow; a token gets the part of it the client asked for and may hold.
    scopes: frozenset[str]
    engagement: Engagement | None = None
    # `local`, or `federated:<upstream issuer>`: the upstream check applies only to the latter.
    source: str = "local"


class AccountLookup(Protocol):
    def account(self, subject: str) -> Account | None:
        """The person `subject`, or None when they no longer exist or are disabled."""


class UpstreamCheck(Protocol):
    def still_allowed(self, account: Account) -> bool:
        """Whether a federated person's upstream identity provider still vouches for them (asked at each refresh)."""


class NoUpstream:
    """The check with no federation configured: only federated accounts are refused (nobody can vouch for them)."""

    def still_allowed(self, account: Account) -> bool:
        return account.source == "local"
