"""The writing core of the people directory: read a user, apply a change over its revision, record who did it.

Every change goes through `UserChanges._change`: validated as a whole record, written with its trail entry in one
store call (over the revision it was read at), then emitted as a `PeopleEvents` event with the person's access
before and after. `PeopleDirectory` and its second-factor half build on this.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from edgeauth.audit import AuditValue
from edgeauth.people.errors import InvalidUser, UserNotFound
from edgeauth.people.events import PeopleAction, PeopleEvents
from edgeauth.people.models import Engagement, User, UserAuditAction, UserAuditEvent, UserRecord, is_username
from edgeauth.people.store import UserStore
from edgeauth.sealing import Sealer
from edgeauth.settings import PeopleSettings


class UserChanges:
    """Reading and changing users; the state is set by `PeopleDirectory.__init__`."""

    store: UserStore
    settings: PeopleSettings
    events: PeopleEvents
    _sealer: Sealer
    _clock: Callable[[], datetime]

    def get(self, username: str) -> UserRecord:
        record = self.store.get(username) if is_username(username) else None
        if record is None:
            raise UserNotFound(username)
        return record

    def show(self, username: str) -> User:
        return User.of(self.get(username))

    def list_users(self) -> list[User]:
        return [User.of(r) for name in self.store.list_usernames() if (r := self.store.get(name)) is not None]

    def history(self, username: str | None = None) -> list[UserAuditEvent]:
        return self.store.audit_events(username)

    def _change(
        self,
        username: str,
        actor: str,
        action: UserAuditAction,
        event: PeopleAction | None,
        changes: dict[str, Any],
        *,
        record: UserRecord | None = None,
        detail: str = "",
    ) -> User:
        before = record or self.get(username)
        after = self._replace(before, actor, action, detail or _describe(changes), changes)
        if event is not None:
            self.events.emit(event, username, actor=actor, before=access(before), after=access(after))
        return User.of(after)

    def _replace(
        self, record: UserRecord, actor: str, action: UserAuditAction, detail: str, changes: dict[str, Any]
    ) -> UserRecord:
        fields = {
            **record.model_dump(by_alias=True),
            **changes,
            "updated_at": self._clock(),
            "updated_by": actor,
            "revision": record.revision + 1,
        }
        updated = validated(fields)
        self.store.replace(updated, self._trail(actor, action, record.username, detail))
        return updated

    def _trail(self, actor: str, action: UserAuditAction, username: str, detail: str = "") -> UserAuditEvent:
        try:
            return UserAuditEvent(timestamp=self._clock(), actor=actor, action=action, username=username, detail=detail)
        except ValidationError as exc:
            raise InvalidUser(f"audit actor: {exc.errors()[0]['msg']}") from None

    @staticmethod
    def check_username(username: str) -> None:
        """`InvalidUser` naming the rule when `username` is no valid user name (before asking for a password)."""
        if not is_username(username):
            raise InvalidUser(f"user name {username[:80]!r}: 1-64 of a-z 0-9 . _ - @, starting with a letter or digit")


def roles_text(record: UserRecord) -> str:
    return ",".join(sorted(record.roles))


def _describe(changes: dict[str, Any]) -> str:
    """The trail's detail of a change: which fields changed, the value only where it is no secret."""
    shown: dict[str, Callable[[Any], str]] = {
        "roles": lambda v: ",".join(sorted(v)),
        "disabled": str,
        "engagement": lambda v: f"{v['from'].isoformat()}/{v['to'].isoformat()}" if v else "none",
    }
    return " ".join(f"{k}={shown[k](v)}" if k in shown else k for k, v in changes.items())


def access(record: UserRecord) -> dict[str, AuditValue]:
    """What a person may do and how they sign in (never a hash or secret): the before/after of an audit event."""
    return {
        "roles": sorted(record.roles),
        "disabled": record.disabled,
        "engagement": None if record.engagement is None else " / ".join(record.engagement.claim().values()),
        "source": record.source,
        "mfa": "none" if record.totp is None else ("totp" if record.totp_confirmed else "pending"),
        "recovery_codes_left": len(record.recovery_codes.digests) if record.recovery_codes else 0,
        "password_changed_at": record.password_changed_at.isoformat() if record.password_changed_at else None,
    }


def validated_engagement(window: dict[str, datetime] | None) -> dict[str, str] | None:
    return None if window is None else Engagement.model_validate(window).claim()


def validated(fields: dict[str, Any]) -> UserRecord:
    try:
        return UserRecord.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "user"
        raise InvalidUser(f"{where}: {first['msg']}") from None
