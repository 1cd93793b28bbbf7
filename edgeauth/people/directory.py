"""The people directory: administration and password sign-in over a `UserStore`, with the second factor
(`second_factor.py`) and the writing core (`changes.py`) it builds on.

Who calls it: `vigil users ...` (administration), the issuer's login page (`authenticate`, then
`verify_second_factor` when `requires_mfa`), federation (`provision`). Every change is stored together with its
trail entry and emitted as a `PeopleEvents` event naming the acting admin; refused passwords and codes are
emitted with their reason, which never reaches the person signing in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal, NoReturn

import redis
from pydantic import SecretStr

from edgeauth.audit import AuditSink
from edgeauth.keystore import sealer_for
from edgeauth.people.changes import access, roles_text, validated, validated_engagement
from edgeauth.people.errors import AuthenticationFailed, ConcurrentChange, InvalidUser, UserExists
from edgeauth.people.events import PeopleEvents
from edgeauth.people.models import PersonRole, User, UserRecord, is_username
from edgeauth.people.passwords import PasswordHashing, PasswordPolicy
from edgeauth.people.second_factor import SecondFactors
from edgeauth.people.store import RedisUserStore, UserStore
from edgeauth.sealing import Sealer
from edgeauth.settings import EdgeAuthSettings, PeopleSettings


def _now() -> datetime:
    return datetime.now(UTC)


class PeopleDirectory(SecondFactors):
    """People administration and sign-in checks; the storage is whatever `UserStore` it is given."""

    def __init__(
        self,
        store: UserStore,
        *,
        sealer: Sealer,
        settings: PeopleSettings | None = None,
        audit: AuditSink | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store = store
        self.settings = settings or PeopleSettings()
        self.hashing = PasswordHashing.from_settings(self.settings)
        self.policy = PasswordPolicy.from_settings(self.settings)
        self.events = PeopleEvents(audit, clock=clock)
        self._sealer = sealer
        self._clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: EdgeAuthSettings,
        client: redis.Redis,
        *,
        store: UserStore | None = None,
        audit: AuditSink | None = None,
    ) -> PeopleDirectory:
        """The directory as configured: Redis under edgeauth's `key_prefix` unless another `store` is given."""
        return cls(
            store or RedisUserStore(client, settings.key_prefix),
            sealer=sealer_for(settings),
            settings=settings.people,
            audit=audit,
        )

    # -- administration ----------------------------------------------------------------------------------------------

    def create(
        self,
        username: str,
        *,
        actor: str,
        display_name: str | None = None,
        roles: Iterable[PersonRole],
        password: str,
        email: str | None = None,
        engagement: tuple[datetime, datetime] | None = None,
    ) -> User:
        """A local user with a password that meets the policy; `actor` is the admin who creates them."""
        self.check_username(username)
        self.policy.check(password, username=username)
        now = self._clock()
        record = validated(
            {
                "username": username,
                "display_name": display_name or username,
                "email": email,
                "roles": frozenset(roles),
                "engagement": {"from": engagement[0], "to": engagement[1]} if engagement else None,
                "password_hash": self.hashing.hash(password),
                "password_changed_at": now,
                "created_at": now,
                "created_by": actor,
                "updated_at": now,
                "updated_by": actor,
            }
        )
        self.store.insert(record, self._trail(actor, "create", username, f"roles={roles_text(record)}"))
        self.events.emit("user-created", username, actor=actor, after=access(record))
        return User.of(record)

    def provision(
        self,
        username: str,
        *,
        issuer: str,
        display_name: str | None = None,
        email: str | None = None,
        roles: Iterable[PersonRole],
        engagement: tuple[datetime, datetime] | None = None,
        source_ip: str | None = None,
    ) -> User:
        """Create or update a federated user just in time from their upstream claims (no password here).

        A name held by a local user, or by a user of another issuer, is refused: federation never takes over an
        account. A disabled user stays disabled (and `authenticate`-style checks stay the caller's).
        """
        self.check_username(username)
        source = f"federated:{issuer}"
        actor = f"federation:{issuer}"[:256]
        fields: dict[str, Any] = {
            "display_name": display_name or username,
            "email": email,
            "roles": frozenset(roles),
            "engagement": {"from": engagement[0], "to": engagement[1]} if engagement else None,
        }
        existing = self.store.get(username)
        if existing is None:
            now = self._clock()
            record = validated(
                {
                    "username": username,
                    "source": source,
                    **fields,
                    "created_at": now,
                    "created_by": actor,
                    "updated_at": now,
                    "updated_by": actor,
                }
            )
            self.store.insert(record, self._trail(actor, "provision", username, f"roles={roles_text(record)}"))
        elif existing.source != source:
            raise UserExists(username)
        else:
            current = {k: getattr(existing, k) for k in ("display_name", "email", "roles")}
            current["engagement"] = existing.engagement.claim() if existing.engagement else None
            wanted = {**fields, "engagement": validated_engagement(fields["engagement"])}
            if current == wanted:
                return User.of(existing)
            record = self._replace(existing, actor, "provision", f"roles={' '.join(sorted(fields['roles']))}", fields)
        self.events.user_provisioned(username, issuer=issuer, roles=sorted(record.roles), source_ip=source_ip)
        return User.of(record)

    def disable(self, username: str, *, actor: str) -> User:
        """Refuse every further sign-in (sessions already open are the session layer's to end)."""
        return self._change(username, actor, "disable", "user-disabled", {"disabled": True})

    def enable(self, username: str, *, actor: str) -> User:
        return self._change(username, actor, "enable", "user-enabled", {"disabled": False})

    def reset_password(self, username: str, password: str, *, actor: str) -> User:
        """A new password (checked against the policy) set by an admin or by the person themselves."""
        record = self.get(username)
        if record.federated:
            raise InvalidUser(f"user {username!r} signs in through {record.source[10:]}; it has no password here")
        self.policy.check(password, username=username)
        changes = {"password_hash": SecretStr(self.hashing.hash(password)), "password_changed_at": self._clock()}
        return self._change(username, actor, "reset-password", "user-password-reset", changes, record=record)

    def change_password(
        self, username: str, current: str, new: str, *, source_ip: str | None = None, client_id: str | None = None
    ) -> User:
        """A person replacing their own password: the current one is checked like a sign-in (same refusal, same
        event, so guesses through this door count as guesses), the new one against the policy."""
        user = self.authenticate(username, current, source_ip=source_ip, client_id=client_id)
        return self.reset_password(user.username, new, actor=user.username)

    def set_roles(self, username: str, roles: Iterable[PersonRole], *, actor: str) -> User:
        wanted = frozenset(roles)
        return self._change(username, actor, "set-roles", "user-roles-changed", {"roles": wanted})

    def set_engagement(self, username: str, engagement: tuple[datetime, datetime] | None, *, actor: str) -> User:
        """The auditor's window (start, end), or None to lift it; sign-ins outside it are refused."""
        window = {"from": engagement[0], "to": engagement[1]} if engagement else None
        return self._change(username, actor, "set-engagement", "user-engagement-changed", {"engagement": window})

    # -- password sign-in --------------------------------------------------------------------------------------------

    def authenticate(
        self, username: str, password: str, *, source_ip: str | None = None, client_id: str | None = None
    ) -> User:
        """The user whose password this is, or `AuthenticationFailed` with one message for every refusal.

        An unknown, malformed or federated name costs one dummy argon2id check, and a disabled user's password is
        checked before refusing, so the time taken does not say which case it was. The refusal is emitted with
        its reason. A hash made with older parameters is replaced by one made with the configured ones.
        """
        name = username.strip().lower()
        record = self.store.get(name) if is_username(name) else None
        if record is None or record.password_hash is None:
            self.hashing.burn(password)
            reason: Literal["malformed", "unknown_user", "no_password"] = (
                "malformed" if not is_username(name) else "unknown_user" if record is None else "no_password"
            )
            self._refuse(name, reason, source_ip, client_id)
        stored = record.password_hash.get_secret_value()
        if not self.hashing.verify(stored, password):
            self._refuse(name, "disabled" if record.disabled else "wrong_password", source_ip, client_id)
        if record.disabled:
            self._refuse(name, "disabled", source_ip, client_id)
        if record.engagement is not None and not record.engagement.covers(self._clock()):
            self._refuse(name, "outside_engagement", source_ip, client_id)
        if self.hashing.needs_rehash(stored):
            record = self._rehash(record, password)
        return User.of(record)

    def _refuse(self, username: str, reason: Any, source_ip: str | None, client_id: str | None) -> NoReturn:
        self.events.sign_in_failed(username, reason, source_ip=source_ip, client_id=client_id)
        raise AuthenticationFailed(reason)

    def _rehash(self, record: UserRecord, password: str) -> UserRecord:
        updated = record.model_copy(
            update={"password_hash": SecretStr(self.hashing.hash(password)), "revision": record.revision + 1}
        )
        try:
            self.store.replace(updated, None)
        except ConcurrentChange:
            return record  # another replica re-hashed (or an admin changed the user) first: theirs stands
        return updated
