"""The sign-in and people security events: one vocabulary, emitted through edgeauth's `AuditSink`.

`vigil` wires that sink to siem's `audit` dataset (`vigil.audit`), where each event becomes an ECS document:
`event.action` is one of `PeopleAction`, `event.outcome` success or failure, `event.reason` why a sign-in or code
was refused (kept server-side: the person signing in only ever sees the generic message), `user.name` the person
(for a failed sign-in, the name that was tried, when it is a well-formed user name), `source.ip` where they came
from, `client.id` the OAuth client they signed in through, `vigil.audit.target` `user:<name>`.

The directory emits what only it knows (refused passwords and codes with their reason, recovery-code use,
enrolment, every change to a user); the sign-in flow emits what only it knows (a completed sign-in, a throttled
attempt, a sign-out, a revoked session) with the same `PeopleEvents` object. Sigma rules match these names, so they
are part of the public API: add, never rename.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Final, Literal

from edgeauth.audit import AuditCategory, AuditEvent, AuditSink, AuditType, AuditValue
from edgeauth.people.models import is_username

PeopleAction = Literal[
    "sign-in",
    "sign-out",
    "mfa-failed",
    "totp-enrolled",
    "recovery-code-used",
    "recovery-codes-generated",
    "session-revoked",
    "user-created",
    "user-disabled",
    "user-enabled",
    "user-roles-changed",
    "user-engagement-changed",
    "user-password-reset",
    "user-mfa-reset",
    "user-provisioned",
    "user-updated",
]
#: Every action with its ECS category and type.
ACTIONS: Final[dict[PeopleAction, tuple[AuditCategory, AuditType]]] = {
    "sign-in": ("authentication", "start"),
    "sign-out": ("session", "end"),
    "mfa-failed": ("authentication", "info"),
    "totp-enrolled": ("iam", "change"),
    "recovery-code-used": ("authentication", "info"),
    "recovery-codes-generated": ("iam", "change"),
    "session-revoked": ("session", "end"),
    "user-created": ("iam", "creation"),
    "user-disabled": ("iam", "change"),
    "user-enabled": ("iam", "change"),
    "user-roles-changed": ("iam", "change"),
    "user-engagement-changed": ("iam", "change"),
    "user-password-reset": ("iam", "change"),
    "user-mfa-reset": ("iam", "change"),
    "user-provisioned": ("iam", "creation"),
    "user-updated": ("iam", "change"),
}
PROVIDER = "edgeauth"
#: `user.name` of a failed sign-in whose name was not a user name at all (often a password typed in the wrong box).
MALFORMED_NAME = "(malformed)"


def _now() -> datetime:
    return datetime.now(UTC)


def _clip(text: str, limit: int) -> str:
    # A caller's over-long reason or client id is cut, never a reason for the event to be lost.
    return text[:limit]


def _address(text: str | None) -> IPv4Address | IPv6Address | None:
    # An event must never fail to be built: an address that does not parse is left out, not raised.
    if text is None:
        return None
    try:
        return ip_address(text)
    except ValueError:
        return None


class PeopleEvents:
    """Emits the people vocabulary to an `AuditSink`; with no sink, every call is a no-op."""

    def __init__(self, sink: AuditSink | None, *, clock: Callable[[], datetime] = _now) -> None:
        self._sink = sink
        self._clock = clock

    def emit(
        self,
        action: PeopleAction,
        username: str,
        *,
        outcome: Literal["success", "failure"] = "success",
        actor: str | None = None,
        reason: str | None = None,
        source_ip: str | None = None,
        client_id: str | None = None,
        before: dict[str, AuditValue] | None = None,
        after: dict[str, AuditValue] | None = None,
    ) -> None:
        """The one way an event is built: `actor` (the admin) defaults to the person the event is about."""
        if self._sink is None:
            return
        name = username if is_username(username) else MALFORMED_NAME
        category, kind = ACTIONS[action]
        self._sink.emit(
            [
                AuditEvent(
                    timestamp=self._clock(),
                    provider=PROVIDER,
                    action=action,
                    category=category,
                    type=kind,
                    outcome=outcome,
                    actor=_clip(actor or name, 256),
                    client_id=_clip(client_id, 256) if client_id else None,
                    target=f"user:{name}",
                    reason=_clip(reason, 1024) if reason else None,
                    source_ip=_address(source_ip),
                    before=before,
                    after=after,
                )
            ]
        )

    def sign_in_succeeded(
        self, username: str, *, methods: tuple[str, ...] = ("password",), source_ip: str | None, client_id: str | None
    ) -> None:
        """A completed sign-in (after the second factor when one is required); `methods` e.g. password, totp."""
        self.emit("sign-in", username, reason="+".join(methods), source_ip=source_ip, client_id=client_id)

    def sign_in_failed(
        self, username: str, reason: str, *, source_ip: str | None, client_id: str | None = None
    ) -> None:
        """A refused sign-in; `reason` e.g. `wrong_password`, `unknown_user`, `disabled`, `throttled`."""
        self.emit("sign-in", username, outcome="failure", reason=reason, source_ip=source_ip, client_id=client_id)

    def mfa_failed(self, username: str, reason: str, *, source_ip: str | None, client_id: str | None = None) -> None:
        self.emit("mfa-failed", username, outcome="failure", reason=reason, source_ip=source_ip, client_id=client_id)

    def recovery_code_used(self, username: str, *, remaining: int, source_ip: str | None) -> None:
        self.emit("recovery-code-used", username, reason=f"{remaining} left", source_ip=source_ip)

    def signed_out(self, username: str, *, source_ip: str | None, client_id: str | None = None) -> None:
        self.emit("sign-out", username, source_ip=source_ip, client_id=client_id)

    def session_revoked(self, username: str, *, actor: str | None, reason: str, source_ip: str | None = None) -> None:
        """A session ended by someone or something else than its owner signing out (admin, idle/absolute timeout)."""
        self.emit("session-revoked", username, actor=actor, reason=reason, source_ip=source_ip)

    def user_provisioned(self, username: str, *, issuer: str, roles: list[str], source_ip: str | None = None) -> None:
        """A federated person created or updated just in time from their upstream identity provider's claims."""
        self.emit(
            "user-provisioned",
            username,
            actor=f"federation:{issuer}"[:256],
            source_ip=source_ip,
            after={"roles": sorted(roles), "source": f"federated:{issuer}"},
        )
