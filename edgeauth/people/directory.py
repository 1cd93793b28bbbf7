"""The people directory: administration, password sign-in and the second factor, over a `UserStore`.

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
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from edgeauth.audit import AuditSink, AuditValue
from edgeauth.keystore import sealer_for
from edgeauth.people import totp
from edgeauth.people.errors import (
    AuthenticationFailed,
    ConcurrentChange,
    EnrolmentError,
    InvalidUser,
    SecondFactorFailed,
    UserExists,
    UserNotFound,
)
from edgeauth.people.events import PeopleAction, PeopleEvents
from edgeauth.people.models import (
    Engagement,
    PersonRole,
    RecoveryCodes,
    TotpState,
    User,
    UserAuditAction,
    UserAuditEvent,
    UserRecord,
    is_username,
)
from edgeauth.people.passwords import PasswordHashing, PasswordPolicy
from edgeauth.people.store import RedisUserStore, UserStore
from edgeauth.sealing import Sealer
from edgeauth.settings import EdgeAuthSettings, PeopleSettings

SecondFactor = Literal["totp", "recovery_code"]


def _now() -> datetime:
    return datetime.now(UTC)


class TotpEnrolment(BaseModel):
    """What a person needs to add Vigil to their authenticator app; pending until `confirm_totp`."""

    model_config = ConfigDict(frozen=True)

    username: str
    secret: SecretStr
    provisioning_uri: SecretStr
    qr_svg: str


class RecoveryCodesIssued(BaseModel):
    """The one moment recovery codes are visible: returned by `confirm_totp` / `new_recovery_codes`, never stored."""

    model_config = ConfigDict(frozen=True)

    username: str
    codes: tuple[SecretStr, ...]


class PeopleDirectory:
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

    # -- reading ---------------------------------------------------------------------------------------------------

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
        record = _validated(
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
        self.store.insert(record, self._trail(actor, "create", username, f"roles={_roles(record)}"))
        self.events.emit("user-created", username, actor=actor, after=_access(record))
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
            record = _validated(
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
            self.store.insert(record, self._trail(actor, "provision", username, f"roles={_roles(record)}"))
        elif existing.source != source:
            raise UserExists(username)
        else:
            current = {k: getattr(existing, k) for k in ("display_name", "email", "roles")}
            current["engagement"] = existing.engagement.claim() if existing.engagement else None
            wanted = {**fields, "engagement": _validated_engagement(fields["engagement"])}
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

    # -- second factor -----------------------------------------------------------------------------------------------

    def requires_mfa(self, user: User | UserRecord) -> bool:
        """Whether a local sign-in needs a second factor: any role in `mfa_required_roles`, or TOTP enrolled.

        Federated people prove their second factor to their own identity provider, never here.
        """
        if user.source != "local":
            return False
        enrolled = user.totp_confirmed if isinstance(user, UserRecord) else user.mfa == "totp"
        return enrolled or bool(set(user.roles) & self.settings.mfa_required_roles)

    def begin_totp_enrolment(self, username: str, *, actor: str) -> TotpEnrolment:
        """A new pending TOTP secret (sealed at rest); an already confirmed one must first be `reset_mfa`."""
        record = self.get(username)
        if record.federated:
            raise EnrolmentError(f"user {username!r} proves a second factor to {record.source[10:]}, not here")
        if record.totp_confirmed:
            raise EnrolmentError(f"user {username!r} already has TOTP; `vigil users reset-mfa` first")
        secret = totp.new_secret()
        state = TotpState(sealed_secret=SecretStr(self._seal(username, secret)), created_at=self._clock())
        self._change(username, actor, "enrol-totp", None, {"totp": state}, record=record, detail="started")
        uri = totp.provisioning_uri(secret, username=username, issuer=self.settings.totp_issuer)
        return TotpEnrolment(
            username=username, secret=SecretStr(secret), provisioning_uri=SecretStr(uri), qr_svg=totp.qr_svg(uri)
        )

    def confirm_totp(
        self, username: str, code: str, *, actor: str, source_ip: str | None = None
    ) -> RecoveryCodesIssued:
        """Make a pending TOTP count once a valid code shows the app has it; returns 10 fresh recovery codes."""
        record = self.get(username)
        if record.totp is None or record.totp_confirmed:
            raise EnrolmentError(f"user {username!r} has no pending TOTP enrolment; start one first")
        kind, normal = totp.classify(code)
        step = self._matching_step(record, normal) if kind == "totp" else None
        if step is None:
            self.events.mfa_failed(username, "invalid_code", source_ip=source_ip)
            raise SecondFactorFailed("invalid_code")
        now = self._clock()
        shown, codes = self._recovery_codes(now)
        confirmed = record.totp.model_copy(update={"confirmed_at": now, "last_step": step})
        self._change(
            username, actor, "enrol-totp", "totp-enrolled", {"totp": confirmed, "recovery_codes": codes}, record=record
        )
        return RecoveryCodesIssued(username=username, codes=tuple(SecretStr(c) for c in shown))

    def new_recovery_codes(self, username: str, *, actor: str) -> RecoveryCodesIssued:
        """Replace every recovery code (the old ones stop working) for a user with a confirmed TOTP."""
        record = self.get(username)
        if not record.totp_confirmed:
            raise EnrolmentError(f"user {username!r} has no confirmed TOTP to recover")
        shown, codes = self._recovery_codes(self._clock())
        self._change(
            username, actor, "enrol-totp", "recovery-codes-generated", {"recovery_codes": codes}, record=record
        )
        return RecoveryCodesIssued(username=username, codes=tuple(SecretStr(c) for c in shown))

    def reset_mfa(self, username: str, *, actor: str) -> User:
        """Forget the TOTP secret and every recovery code (a lost phone); the next sign-in must enrol again."""
        return self._change(username, actor, "reset-mfa", "user-mfa-reset", {"totp": None, "recovery_codes": None})

    def verify_second_factor(
        self,
        user: User | UserRecord | str,
        code: str,
        *,
        source_ip: str | None = None,
        client_id: str | None = None,
    ) -> SecondFactor:
        """Accept a TOTP code (each time step once) or an unused recovery code (then spent); else refuse.

        The acceptance is written over the revision it was read from, so the same code sent twice at once to two
        replicas is accepted once. Refusals and recovery-code use are emitted.
        """
        username = user if isinstance(user, str) else user.username
        for _attempt in range(3):
            record = self.get(username)
            try:
                return self._second_factor(record, code, source_ip, client_id)
            except ConcurrentChange:
                continue  # re-read: if the other writer spent this code, the next round refuses it
        raise ConcurrentChange(username)

    def _second_factor(
        self, record: UserRecord, code: str, source_ip: str | None, client_id: str | None
    ) -> SecondFactor:
        username = record.username
        if record.totp is None or not record.totp_confirmed:
            self._second_factor_refused(username, "not_enrolled", source_ip, client_id)
        kind, normal = totp.classify(code)
        if kind == "totp":
            step = self._matching_step(record, normal)
            if step is None:
                self._second_factor_refused(username, "invalid_code", source_ip, client_id)
            last = record.totp.last_step
            if last is not None and step <= last:
                self._second_factor_refused(username, "replayed", source_ip, client_id)
            spent = record.totp.model_copy(update={"last_step": step})
            self.store.replace(record.model_copy(update={"totp": spent, "revision": record.revision + 1}), None)
            return "totp"
        codes = record.recovery_codes
        digest = totp.matching_digest(codes.salt, codes.digests, normal) if codes and kind != "malformed" else None
        if codes is None or digest is None:
            reason: Literal["malformed", "invalid_code"] = "malformed" if kind == "malformed" else "invalid_code"
            self._second_factor_refused(username, reason, source_ip, client_id)
        left = codes.model_copy(update={"digests": tuple(d for d in codes.digests if d != digest)})
        self.store.replace(
            record.model_copy(update={"recovery_codes": left, "revision": record.revision + 1}),
            self._trail(username, "update", username, "recovery code used"),
        )
        self.events.recovery_code_used(username, remaining=len(left.digests), source_ip=source_ip)
        return "recovery_code"

    def _second_factor_refused(
        self, username: str, reason: Any, source_ip: str | None, client_id: str | None
    ) -> NoReturn:
        self.events.mfa_failed(username, reason, source_ip=source_ip, client_id=client_id)
        raise SecondFactorFailed(reason)

    def _matching_step(self, record: UserRecord, code: str) -> int | None:
        assert record.totp is not None
        secret = self._sealer.open_text(record.totp.sealed_secret.get_secret_value(), _seal_name(record.username))
        return totp.matching_step(secret.decode("ascii"), code, self._clock(), window=self.settings.totp_valid_window)

    def _seal(self, username: str, secret: str) -> str:
        return self._sealer.seal_text(secret.encode("ascii"), _seal_name(username))

    @staticmethod
    def _recovery_codes(now: datetime) -> tuple[list[str], RecoveryCodes]:
        shown, salt, digests = totp.new_recovery_codes()
        return shown, RecoveryCodes(salt=salt, digests=digests, generated_at=now)

    # -- writing -----------------------------------------------------------------------------------------------------

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
            self.events.emit(event, username, actor=actor, before=_access(before), after=_access(after))
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
        updated = _validated(fields)
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


def _seal_name(username: str) -> str:
    # Bound as associated data: a sealed secret copied onto another user does not open.
    return f"edgeauth:people:totp:{username}"


def _roles(record: UserRecord) -> str:
    return ",".join(sorted(record.roles))


def _describe(changes: dict[str, Any]) -> str:
    """The trail's detail of a change: which fields changed, the value only where it is no secret."""
    shown: dict[str, Callable[[Any], str]] = {
        "roles": lambda v: ",".join(sorted(v)),
        "disabled": str,
        "engagement": lambda v: f"{v['from'].isoformat()}/{v['to'].isoformat()}" if v else "none",
    }
    return " ".join(f"{k}={shown[k](v)}" if k in shown else k for k, v in changes.items())


def _access(record: UserRecord) -> dict[str, AuditValue]:
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


def _validated_engagement(window: dict[str, datetime] | None) -> dict[str, str] | None:
    return None if window is None else Engagement.model_validate(window).claim()


def _validated(fields: dict[str, Any]) -> UserRecord:
    try:
        return UserRecord.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "user"
        raise InvalidUser(f"{where}: {first['msg']}") from None
