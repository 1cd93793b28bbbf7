"""User names and records: the charset, the invariants, what a public view leaves out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from edgeauth.people import USERNAME_PATTERN, User, UserRecord, is_username

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def record(**changes: object) -> UserRecord:
    fields: dict[str, object] = {
        "username": "ana",
        "display_name": "Ana",
        "roles": {"analyst"},
        "password_hash": SecretStr("$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$aGFzaA"),
        "created_at": NOW,
        "created_by": "admin",
        "updated_at": NOW,
        "updated_by": "admin",
        **changes,
    }
    return UserRecord.model_validate(fields)


@pytest.mark.parametrize("name", ["ana", "a", "ana.lyst", "ana_l-1", "zoe@example.com", "0x", "a" * 64])
def test_good_names(name: str) -> None:
    assert is_username(name)


@pytest.mark.parametrize(
    "name", ["", "Ana", "ana lyst", "-ana", ".ana", "ana\n", "ana/..", "ána", "аna", "a" * 65, "ana:x", "ana\x00"]
)
def test_bad_names(name: str) -> None:
    assert not is_username(name)
    with pytest.raises(ValidationError):
        record(username=name)


@given(st.text(max_size=80))
def test_a_valid_name_is_plain_lowercase_ascii(name: str) -> None:
    if is_username(name):
        assert name.isascii()
        assert name == name.lower()
        assert name.strip() == name
        assert re.fullmatch(USERNAME_PATTERN, name)
        assert not any(ch in name for ch in " /:\\\"'\n\t")


def test_record_invariants() -> None:
    window = {"from": NOW, "to": NOW + timedelta(days=1)}
    assert record(roles={"auditor"}, engagement=window).engagement is not None
    with pytest.raises(ValidationError, match="auditors only"):
        record(engagement=window)
    with pytest.raises(ValidationError, match="end after"):
        record(roles={"auditor"}, engagement={"from": NOW, "to": NOW})
    with pytest.raises(ValidationError, match="no password"):
        record(source="federated:https://idp.example")
    assert record(source="federated:https://idp.example", password_hash=None).federated
    with pytest.raises(ValidationError):
        record(source="ldap")
    with pytest.raises(ValidationError):
        record(roles=set())
    with pytest.raises(ValidationError):
        record(email="not-an-address")
    with pytest.raises(ValidationError):
        record(display_name="two\nlines")


def test_the_public_view_holds_no_secret() -> None:
    shown = User.of(record())
    assert "argon2" not in shown.model_dump_json()
    assert shown.has_password
    assert shown.mfa == "none"
    assert shown.recovery_codes_left == 0
