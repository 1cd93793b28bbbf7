"""People's passwords: argon2id hashing (argon2-cffi) and the password policy.

Hashing: parameters come from `PeopleSettings`; each hash carries its own, so raising them takes effect for new
passwords at once and for existing ones at their next successful sign-in (`needs_rehash`). A password longer than
`MAX_PASSWORD_CHARS` is refused before any hashing, so nobody can make the server hash megabytes.

Policy: a minimum length; the built-in list of common passwords (`common-passwords.txt`, written for Vigil from the
passwords public breach statistics rank highest) plus an optional larger list file named in settings; the
variants attackers try first (case, digits or symbols around a listed word, common letter-for-digit swaps); and
structural weakness (contains the user name, one character repeated, a short pattern repeated, a keyboard or
number sequence). Refusals name the rule, never the password; nothing here logs a password.
"""

from __future__ import annotations

import secrets
from functools import cache
from importlib import resources
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from edgeauth.people.errors import PeopleError, WeakPassword
from edgeauth.settings import PeopleSettings

MAX_PASSWORD_CHARS = 1024
# Letter-for-digit/symbol swaps that turn a listed word into a "new" one ("p@ssw0rd").
_UNLEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"})
# Digits and symbols people put around a listed word; at most this many are cut from either end.
_NOT_LETTERS = "0123456789`~!@#$%^&*()-_=+[]{}\\|;:'\",.<>/? "
_MAX_AROUND = 64
# Rows, columns and runs a password can be typed along; each is checked forwards and backwards.
_SEQUENCES = (
    "0123456789" * 4,
    "abcdefghijklmnopqrstuvwxyz" * 2,
    "`1234567890-=",
    "~!@#$%^&*()_+",
    "qwertyuiop[]\\asdfghjkl;'zxcvbnm,./",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
    "!qaz@wsx#edc$rfv%tgb^yhn&ujm*ik,(ol.)p;/",
    "zaq1xsw2cde3vfr4bgt5nhy6mju7,ki8.lo9/;p0",
    "7894561230",
    "147258369",
    "159753",
)


class DenyListUnavailable(PeopleError):
    """The deny list file named in settings cannot be read: refuse to judge passwords rather than pass them."""

    status_code = 503
    error = "deny_list_unavailable"


def _normalised(word: str) -> str:
    return word.strip().casefold()


@cache
def builtin_deny_list() -> frozenset[str]:
    text = resources.files("edgeauth.people").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(_normalised(line) for line in text.splitlines() if line.strip() and not line.startswith("#"))


@cache
def _file_deny_list(path: Path) -> frozenset[str]:
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            return frozenset(n for line in lines if (n := _normalised(line)))
    except OSError as exc:
        raise DenyListUnavailable(f"password deny list {path}: {exc.strerror}") from None


class PasswordPolicy:
    """Judges a new password; `check` raises `WeakPassword` naming the first rule broken."""

    def __init__(self, *, min_length: int = 12, deny_list: Path | None = None) -> None:
        self.min_length = min_length
        self._deny_list_path = deny_list

    @classmethod
    def from_settings(cls, settings: PeopleSettings) -> PasswordPolicy:
        return cls(min_length=settings.password_min_length, deny_list=settings.password_deny_list)

    def denied(self) -> frozenset[str]:
        extra = _file_deny_list(self._deny_list_path) if self._deny_list_path is not None else frozenset()
        return builtin_deny_list() | extra if extra else builtin_deny_list()

    def check(self, password: str, *, username: str) -> None:
        if len(password) < self.min_length:
            raise WeakPassword(f"the password is shorter than {self.min_length} characters")
        if len(password) > MAX_PASSWORD_CHARS:
            raise WeakPassword(f"the password is longer than {MAX_PASSWORD_CHARS} characters")
        folded = password.casefold()
        if len(username) >= 3 and username.casefold() in folded:
            raise WeakPassword("the password contains the user name")
        if len(set(folded)) == 1:
            raise WeakPassword("the password is one character repeated")
        if _repeats_short_pattern(folded):
            raise WeakPassword("the password repeats a short pattern")
        if _is_sequence(folded):
            raise WeakPassword("the password is a keyboard or number sequence")
        if _listed(folded, self.denied()):
            raise WeakPassword("the password is a commonly used password (or a variant of one)")


def _repeats_short_pattern(folded: str) -> bool:
    return any(len(folded) % unit == 0 and folded == folded[:unit] * (len(folded) // unit) for unit in range(1, 5))


def _is_sequence(folded: str) -> bool:
    return any(folded in run or folded in run[::-1] for run in _SEQUENCES)


def _listed(folded: str, denied: frozenset[str]) -> bool:
    """Whether a listed password is the whole password once up to `_MAX_AROUND` non-letters are cut from either
    end, as typed or with common swaps undone ("P@ssw0rd!", "2024sunshine", "123456!!")."""
    lead = len(folded) - len(folded.lstrip(_NOT_LETTERS))
    trail = len(folded) - len(folded.rstrip(_NOT_LETTERS))
    starts = range(min(lead, _MAX_AROUND) + 1)
    ends = range(len(folded) - min(trail, _MAX_AROUND), len(folded) + 1)
    # The swaps map one character to one, so the cut positions of the typed password hold for every variant.
    variants = {folded, folded.translate(_UNLEET), folded.replace("1", "l").translate(_UNLEET)}
    return any(v[i:j] in denied for v in variants for i in starts for j in ends if j > i)


class PasswordHashing:
    """argon2id with the configured cost; `verify` never raises on a bad password or a damaged hash."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, hash_len=32, type=Type.ID
        )
        self._dummy: str | None = None

    @classmethod
    def from_settings(cls, settings: PeopleSettings) -> PasswordHashing:
        return cls(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )

    def hash(self, password: str) -> str:
        if len(password) > MAX_PASSWORD_CHARS:
            raise WeakPassword(f"the password is longer than {MAX_PASSWORD_CHARS} characters")
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        if len(password) > MAX_PASSWORD_CHARS:
            return False
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError, UnicodeEncodeError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """True when `stored` was made with other parameters than the configured ones (re-hash on sign-in)."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True

    def burn(self, password: str) -> None:
        """Spend what a real check costs, for a user who does not exist (or has no password), so timing is equal."""
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        self.verify(self._dummy, password)
