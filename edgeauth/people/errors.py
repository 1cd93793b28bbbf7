"""Errors of the people directory. Each carries its HTTP status and public code, so `vigil/problems.py` answers
them as RFC 9457 problem details and the CLI as one line; none of them ever holds a password or a code.

`PeopleError` is its own root (not an `EdgeAuthError`): the issuer's errors answer in OAuth 2.0's fixed JSON,
while a refusal about a person (a weak password, an unknown user name given by an admin) is a problem detail.
"""

from __future__ import annotations

from typing import Literal


class PeopleError(Exception):
    """Root of the people directory's errors."""

    status_code = 400
    error = "invalid_request"
    exit_code = 1


class InvalidUser(PeopleError):
    """A field of a user (name, roles, engagement, e-mail) is not acceptable."""

    status_code = 422
    error = "invalid_user"


class UserNotFound(PeopleError):
    status_code = 404
    error = "user_not_found"

    def __init__(self, username: str) -> None:
        super().__init__(f"no user {username!r}; `vigil users list` shows them")
        self.username = username


class UserExists(PeopleError):
    status_code = 409
    error = "user_exists"

    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} already exists")
        self.username = username


class ConcurrentChange(PeopleError):
    """Someone else changed the user between our read and our write; read again and retry."""

    status_code = 409
    error = "concurrent_change"

    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} was changed concurrently; retry")
        self.username = username


class WeakPassword(PeopleError):
    """The password breaks the policy; the message says which rule (never the password)."""

    status_code = 422
    error = "weak_password"


#: Why a sign-in was refused: kept server-side (audit events), never shown to the person signing in.
FailureReason = Literal[
    "unknown_user",
    "wrong_password",
    "disabled",
    "no_password",
    "outside_engagement",
    "malformed",
]
SecondFactorReason = Literal["invalid_code", "replayed", "not_enrolled", "malformed", "disabled"]

GENERIC_SIGN_IN_FAILURE = "unknown user name or wrong password"
GENERIC_SECOND_FACTOR_FAILURE = "the code is not valid"


class AuthenticationFailed(PeopleError):
    """One answer for unknown user, wrong password and disabled user alike; `reason` is for the audit trail only."""

    status_code = 401
    error = "invalid_credentials"

    def __init__(self, reason: FailureReason = "wrong_password") -> None:
        super().__init__(GENERIC_SIGN_IN_FAILURE)
        self.reason: FailureReason = reason


class SecondFactorFailed(PeopleError):
    """A TOTP or recovery code was refused; `reason` is for the audit trail only."""

    status_code = 401
    error = "invalid_second_factor"

    def __init__(self, reason: SecondFactorReason = "invalid_code") -> None:
        super().__init__(GENERIC_SECOND_FACTOR_FAILURE)
        self.reason: SecondFactorReason = reason


class EnrolmentError(PeopleError):
    """A TOTP enrolment cannot start or be confirmed in the user's current state."""

    status_code = 409
    error = "enrolment_conflict"
