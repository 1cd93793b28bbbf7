"""Where people live: the `UserStore` protocol and its Redis implementation.

The Redis store keeps each user as one JSON string under `{namespace}:edgeauth:user:{name}`, a set of all names
(`...:users`) and a stream of the directory's changes (`...:users:audit`), written in one MULTI/EXEC with the
change. A replace succeeds only over the revision it was derived from (WATCH plus a revision compare), so a TOTP
step accepted on one replica cannot be accepted again on another, and two admins cannot overwrite each other.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, cast

import redis

from edgeauth.people.errors import ConcurrentChange, UserExists, UserNotFound
from edgeauth.people.models import UserAuditEvent, UserRecord
from edgeauth.revocation import redis_text


class UserStore(Protocol):
    """Storage of users and their change trail. Implementations must write a change and its event atomically."""

    def get(self, username: str) -> UserRecord | None: ...

    def insert(self, record: UserRecord, event: UserAuditEvent) -> None:
        """Store a new user at revision 1; raise `UserExists` if the name is taken."""

    def replace(self, record: UserRecord, event: UserAuditEvent | None) -> None:
        """Store `record` (revision n+1) only over revision n; `UserNotFound` if absent, `ConcurrentChange` if the
        stored revision is not n. `event` None: a bookkeeping write (a TOTP step, a re-hash) with no trail entry."""

    def list_usernames(self) -> list[str]:
        """Every user name, sorted."""
        ...

    def audit_events(self, username: str | None = None, limit: int = 1000) -> list[UserAuditEvent]:
        """The newest `limit` changes (of one user, or all), oldest first."""
        ...


class RedisUserStore:
    """Users in Redis under `prefix` (edgeauth's `key_prefix`: `{namespace}:edgeauth`)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, username: str) -> str:
        return f"{self._prefix}:user:{username}"

    @property
    def _index(self) -> str:
        return f"{self._prefix}:users"

    @property
    def _audit(self) -> str:
        return f"{self._prefix}:users:audit"

    def get(self, username: str) -> UserRecord | None:
        raw = cast(bytes | str | None, self._redis.get(self._key(username)))
        return None if raw is None else UserRecord.model_validate_json(raw)

    def insert(self, record: UserRecord, event: UserAuditEvent) -> None:
        key = self._key(record.username)
        with self._redis.pipeline(transaction=True) as pipe:
            # WATCH makes the existence check and the write one atomic step against a concurrent creation.
            pipe.watch(key)  # type: ignore[no-untyped-call]
            if pipe.exists(key):
                raise UserExists(record.username)
            pipe.multi()
            pipe.set(key, _dump(record))
            pipe.sadd(self._index, record.username)
            pipe.xadd(self._audit, {"event": event.model_dump_json()})
            try:
                pipe.execute()
            except redis.WatchError:
                raise UserExists(record.username) from None

    def replace(self, record: UserRecord, event: UserAuditEvent | None) -> None:
        key = self._key(record.username)
        with self._redis.pipeline(transaction=True) as pipe:
            # WATCH makes the revision check and the write one atomic step against other replicas and admins.
            pipe.watch(key)  # type: ignore[no-untyped-call]
            raw = cast(bytes | str | None, pipe.get(key))
            if raw is None:
                raise UserNotFound(record.username)
            stored = json.loads(redis_text(raw)).get("revision", 1)
            if stored != record.revision - 1:
                raise ConcurrentChange(record.username)
            pipe.multi()
            pipe.set(key, _dump(record))
            if event is not None:
                pipe.xadd(self._audit, {"event": event.model_dump_json()})
            try:
                pipe.execute()
            except redis.WatchError:
                raise ConcurrentChange(record.username) from None

    def list_usernames(self) -> list[str]:
        members = cast(set[bytes | str], self._redis.smembers(self._index))
        return sorted(redis_text(m) for m in members)

    def audit_events(self, username: str | None = None, limit: int = 1000) -> list[UserAuditEvent]:
        entries = cast(list[tuple[Any, dict[Any, Any]]], self._redis.xrevrange(self._audit, count=limit))
        events = []
        for _entry_id, fields in reversed(entries):
            event = UserAuditEvent.model_validate_json(fields.get(b"event", fields.get("event")))
            if username is None or event.username == username:
                events.append(event)
        return events


def _dump(record: UserRecord) -> str:
    data = record.model_dump(mode="json", by_alias=True)
    data["password_hash"] = record.password_hash.get_secret_value() if record.password_hash else None
    if record.totp is not None:
        data["totp"]["sealed_secret"] = record.totp.sealed_secret.get_secret_value()
    return json.dumps(data, separators=(",", ":"))
