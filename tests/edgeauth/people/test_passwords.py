"""The password policy and argon2id hashing, without Redis: rules, variants, the deny lists, the cost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeauth.people import DenyListUnavailable, PasswordHashing, PasswordPolicy, WeakPassword
from edgeauth.people.passwords import MAX_PASSWORD_CHARS, builtin_deny_list

POLICY = PasswordPolicy(min_length=12)
HASHING = PasswordHashing(time_cost=1, memory_kib=8192, parallelism=1)


def refusal(password: str, username: str = "ana", policy: PasswordPolicy = POLICY) -> str:
    with pytest.raises(WeakPassword) as refused:
        policy.check(password, username=username)
    assert password not in str(refused.value) or len(password) < 3
    return str(refused.value)


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short-one", "shorter than 12"),
        ("x" * (MAX_PASSWORD_CHARS + 1), "longer than"),
        ("my-name-is-ana-lyst", "user name"),
        ("MY-NAME-IS-ANA-LYST", "user name"),
        ("zzzzzzzzzzzzzzzz", "one character"),
        ("abababababababab", "short pattern"),
        ("abcabcabcabcabc", "short pattern"),
        ("1234567890123", "sequence"),
        ("9876543210987", "sequence"),
        ("qwertyuiop[]", "sequence"),
        ("abcdefghijklmno", "sequence"),
        ("1qaz2wsx3edc4rfv", "sequence"),
        ("password1234", "common"),
        ("Password2024!", "common"),
        ("P@ssw0rd!!!!", "common"),
        ("!!Sunshine1987", "common"),
        ("1loveyou2020!", "common"),
        ("Liverpool1892", "common"),
    ],
)
def test_each_rule_refuses_and_says_which(password: str, rule: str) -> None:
    assert rule in refusal(password)


@pytest.mark.parametrize(
    "password", ["violet-harbour-gravel-37", "correct horse battery staple", "Tr0ub4dor&3-extended", "zq8#Lm2!vR0p"]
)
def test_strong_passwords_pass(password: str) -> None:
    POLICY.check(password, username="ana")


def test_short_names_are_not_searched_for() -> None:
    # A two-letter name would forbid half the dictionary.
    POLICY.check("violet-harbour-gravel-37", username="vi")


def test_the_builtin_list_has_hundreds_of_lowercase_entries() -> None:
    listed = builtin_deny_list()
    assert len(listed) >= 300
    assert {"123456", "password", "qwerty", "iloveyou", "letmein"} <= listed
    assert all(entry == entry.casefold().strip() and entry for entry in listed)


def test_a_larger_list_file_is_read_and_a_missing_one_refuses(tmp_path: Path) -> None:
    extra = tmp_path / "breached.txt"
    extra.write_text("Violet-Harbour-Gravel\n\nanother entry\n", encoding="utf-8")
    policy = PasswordPolicy(min_length=12, deny_list=extra)
    assert "common" in refusal("violet-harbour-gravel-37", policy=policy)
    POLICY.check("violet-harbour-gravel-37", username="ana")
    with pytest.raises(DenyListUnavailable, match=r"missing\.txt"):
        PasswordPolicy(deny_list=tmp_path / "missing.txt").check("violet-harbour-gravel-37", username="ana")


@settings(max_examples=200, deadline=None)
@given(
    base=st.sampled_from(sorted(builtin_deny_list())),
    head=st.text("0123456789!@#$%_.-", max_size=6),
    tail=st.text("0123456789!@#$%_.-", min_size=12, max_size=16),
    upper=st.booleans(),
)
def test_listed_words_with_digits_and_symbols_around_are_refused(base: str, head: str, tail: str, upper: bool) -> None:
    word = base.upper() if upper else base
    with pytest.raises(WeakPassword):
        POLICY.check(head + word + tail, username="ana")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=40))
def test_the_policy_either_accepts_or_raises_weak_password(password: str) -> None:
    try:
        POLICY.check(password, username="ana")
    except WeakPassword as exc:
        message = str(exc)
    else:
        message = ""
        assert len(password) >= 12
        assert "ana" not in password.casefold()
        assert len(set(password)) > 1
    assert message == "" or message.startswith("the password ")


@settings(max_examples=10, deadline=None)
@given(st.text(min_size=1, max_size=64))
def test_hashes_verify_only_their_password(password: str) -> None:
    stored = HASHING.hash(password)
    assert stored.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert HASHING.verify(stored, password)
    assert not HASHING.verify(stored, password + "x")
    assert not HASHING.needs_rehash(stored)
    assert PasswordHashing(time_cost=2, memory_kib=8192, parallelism=1).needs_rehash(stored)


def test_damaged_hashes_and_oversized_passwords_are_refusals_not_errors() -> None:
    stored = HASHING.hash("violet-harbour-gravel-37")
    for damaged in ("", "scrypt$1$2$3", stored[:-4], "$argon2id$v=19$m=8192,t=1,p=1$$"):
        assert not HASHING.verify(damaged, "violet-harbour-gravel-37")
        assert HASHING.needs_rehash(damaged)
    assert not HASHING.verify(stored, "x" * (MAX_PASSWORD_CHARS + 1))
    assert not HASHING.verify(stored, "\ud800")
    with pytest.raises(WeakPassword):
        HASHING.hash("x" * (MAX_PASSWORD_CHARS + 1))
