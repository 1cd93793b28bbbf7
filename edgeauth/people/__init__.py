"""People: the user directory behind the issuer's sign-in (users, argon2id passwords, TOTP, recovery codes).

Storage sits behind the `UserStore` protocol (`RedisUserStore` here; docs/identity.md shows how an SQL table plugs
in). `PeopleDirectory` is the one entry point: administration (`create`, `disable`, `reset_password`, ...),
`authenticate` (one generic refusal for every reason), `requires_mfa` and `verify_second_factor`, TOTP enrolment,
and `provision` for federated people. `PeopleEvents` emits the sign-in vocabulary to the audit sink.
"""

from edgeauth.people.directory import PeopleDirectory
from edgeauth.people.errors import (
    GENERIC_SECOND_FACTOR_FAILURE,
    GENERIC_SIGN_IN_FAILURE,
    AuthenticationFailed,
    ConcurrentChange,
    EnrolmentError,
    FailureReason,
    InvalidUser,
    PeopleError,
    SecondFactorFailed,
    SecondFactorReason,
    UserExists,
    UserNotFound,
    WeakPassword,
)
from edgeauth.people.events import ACTIONS, PeopleAction, PeopleEvents
from edgeauth.people.models import (
    USERNAME_PATTERN,
    PersonRole,
    User,
    UserAuditEvent,
    UserRecord,
    is_username,
)
from edgeauth.people.passwords import DenyListUnavailable, PasswordHashing, PasswordPolicy
from edgeauth.people.second_factor import RecoveryCodesIssued, SecondFactor, TotpEnrolment
from edgeauth.people.store import RedisUserStore, UserStore
from edgeauth.people.totp import qr_svg, qr_text

__all__ = [
    "ACTIONS",
    "GENERIC_SECOND_FACTOR_FAILURE",
    "GENERIC_SIGN_IN_FAILURE",
    "USERNAME_PATTERN",
    "AuthenticationFailed",
    "ConcurrentChange",
    "DenyListUnavailable",
    "EnrolmentError",
    "FailureReason",
    "InvalidUser",
    "PasswordHashing",
    "PasswordPolicy",
    "PeopleAction",
    "PeopleDirectory",
    "PeopleError",
    "PeopleEvents",
    "PersonRole",
    "RecoveryCodesIssued",
    "RedisUserStore",
    "SecondFactor",
    "SecondFactorFailed",
    "SecondFactorReason",
    "TotpEnrolment",
    "User",
    "UserAuditEvent",
    "UserExists",
    "UserNotFound",
    "UserRecord",
    "UserStore",
    "WeakPassword",
    "is_username",
    "qr_svg",
    "qr_text",
]
