"""The second factor of the people directory: TOTP enrolment, the check at sign-in, recovery codes.

The arithmetic (RFC 6238 steps, recovery-code digests, the QR code) is `totp.py`; this half stores its state: the
secret sealed under the KEK and bound to the user name, the last accepted time step (replay refusal), the
recovery-code digests. Every acceptance is written over the revision it was read at, so two replicas receiving the
same code accept it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, SecretStr

from edgeauth.people import totp
from edgeauth.people.changes import UserChanges
from edgeauth.people.errors import ConcurrentChange, EnrolmentError, SecondFactorFailed
from edgeauth.people.models import RecoveryCodes, TotpState, User, UserRecord

SecondFactor = Literal["totp", "recovery_code"]


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


class SecondFactors(UserChanges):
    """TOTP and recovery codes of the directory's users."""

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
        if record.disabled:
            # Disabled between the password step and this one: no code of theirs counts any more.
            self._second_factor_refused(username, "disabled", source_ip, client_id)
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

    def reseal(self) -> int:
        """Re-seal every TOTP secret under the current key-encryption key (the second half of a KEK rotation).

        Returns how many were rewritten; a user changed meanwhile is read again, so no change is lost.
        """
        count = 0
        for username in self.store.list_usernames():
            for _attempt in range(3):
                record = self.store.get(username)
                if record is None or record.totp is None:
                    break
                fresh = self._sealer.reseal_text(record.totp.sealed_secret.get_secret_value(), _seal_name(username))
                if fresh is None:
                    break
                totp_state = record.totp.model_copy(update={"sealed_secret": SecretStr(fresh)})
                try:
                    self.store.replace(
                        record.model_copy(update={"totp": totp_state, "revision": record.revision + 1}), None
                    )
                except ConcurrentChange:
                    continue
                count += 1
                break
        return count

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


def _seal_name(username: str) -> str:
    # Bound as associated data: a sealed secret copied onto another user does not open.
    return f"edgeauth:people:totp:{username}"
