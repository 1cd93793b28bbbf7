"""What collectors read, as Protocols over the other packages' public objects (structural: no imports needed).

`vigil` hands in the real objects; each Protocol names the smallest surface a collector needs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Protocol

from edgeauth import KeyInfo, RotationRecord
from siem import RetentionDeletion


class KeySource(Protocol):
    """edgeauth's key store: its keys (public facts) and the rotation log."""

    def inventory(self) -> Sequence[KeyInfo]: ...

    def history(self, limit: int = 1000) -> Sequence[RotationRecord]: ...


class ClientView(Protocol):
    """A registered client as edgeauth publishes it (never its credential)."""

    @property
    def client_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def scopes(self) -> Collection[str]: ...
    @property
    def disabled(self) -> bool: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def reviewed_at(self) -> datetime | None: ...
    @property
    def reviewed_by(self) -> str | None: ...


class ClientSource(Protocol):
    """edgeauth's client registry."""

    def list_clients(self) -> Sequence[ClientView]: ...


class RetentionSource(Protocol):
    """siem's retention: the policy in force and the deletion log."""

    def policy(self) -> dict[str, int]: ...

    def log(self, *, since: datetime | None = None, limit: int = 1000) -> list[RetentionDeletion]: ...


class RuleView(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def enabled(self) -> bool: ...


class RunView(Protocol):
    @property
    def rule_id(self) -> str: ...
    @property
    def started(self) -> datetime: ...
    @property
    def error(self) -> str | None: ...


class RuleSource(Protocol):
    """detections' facade: which rules exist and are enabled, and their run history."""

    def rules(self) -> Sequence[RuleView]: ...

    def run_history(
        self, rule_id: str | None = None, *, since: datetime | None = None, limit: int = 50
    ) -> Sequence[RunView]: ...


def index_day(name: str) -> date | None:
    """The day of a daily index `...-YYYY.MM.DD`."""
    tail = name.rsplit("-", 1)[-1]
    try:
        return date.fromisoformat(tail.replace(".", "-"))
    except ValueError:
        return None
