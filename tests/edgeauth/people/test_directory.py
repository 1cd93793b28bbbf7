"""The people directory against the real Redis: administration, the trail, password sign-in."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import cast

import pytest
import redis

from edgeauth import CollectingAuditSink
from edgeauth.people import (
    GENERIC_SIGN_IN_FAILURE,
    AuthenticationFailed,
    ConcurrentChange,
    InvalidUser,
    PeopleDirectory,
    UserExists,
    UserNotFound,
    WeakPassword,
)
from edgeauth.settings import PeopleSettings
from tests.edgeauth.people.conftest import CHEAP, PASSWORD, Clock

pytestmark = pytest.mark.integration


def test_create_stores_only_an_argon2id_hash(
    directory: PeopleDirectory, redis_conn: redis.Redis, redis_namespace: str
) -> None:
    user = directory.create("ana", actor="admin", roles=["analyst"], password=PASSWORD, display_name="Ana Lyst")
    assert user.roles == ("analyst",)
    assert user.has_password
    assert user.created_by == user.updated_by == "admin"
    raw = cast(bytes, redis_conn.get(f"{redis_namespace}:edgeauth:user:ana"))
    assert PASSWORD.encode() not in raw
    assert b"$argon2id$" in raw
    assert PASSWORD not in repr(directory.get("ana"))
    assert redis_conn.smembers(f"{redis_namespace}:edgeauth:users") == {b"ana"}
    assert [u.username for u in directory.list_users()] == ["ana"]


def test_every_change_is_trailed_and_emitted_with_the_acting_admin(
    directory: PeopleDirectory, sink: CollectingAuditSink, clock: Clock
) -> None:
    directory.create("aud", actor="alice", roles=["auditor"], password=PASSWORD)
    window = (clock.now, clock.now + timedelta(days=30))
    directory.set_engagement("aud", window, actor="bob")
    directory.disable("aud", actor="carol")
    directory.enable("aud", actor="dave")
    directory.reset_password("aud", "another-long-passphrase-9", actor="erin")
    directory.set_engagement("aud", None, actor="frank")
    directory.set_roles("aud", ["analyst", "auditor"], actor="grace")
    trail = [(e.action, e.actor) for e in directory.history("aud")]
    assert trail == [
        ("create", "alice"),
        ("set-engagement", "bob"),
        ("disable", "carol"),
        ("enable", "dave"),
        ("reset-password", "erin"),
        ("set-engagement", "frank"),
        ("set-roles", "grace"),
    ]
    emitted = [(e.action, e.actor, e.category, e.target) for e in sink.events]
    assert emitted == [
        ("user-created", "alice", "iam", "user:aud"),
        ("user-engagement-changed", "bob", "iam", "user:aud"),
        ("user-disabled", "carol", "iam", "user:aud"),
        ("user-enabled", "dave", "iam", "user:aud"),
        ("user-password-reset", "erin", "iam", "user:aud"),
        ("user-engagement-changed", "frank", "iam", "user:aud"),
        ("user-roles-changed", "grace", "iam", "user:aud"),
    ]
    roles_changed = sink.events[-1]
    assert roles_changed.before is not None
    assert roles_changed.after is not None
    assert roles_changed.added == ["analyst"]
    assert all("argon2" not in e.model_dump_json() for e in sink.events)
    assert directory.show("aud").updated_by == "grace"


def test_refusals_name_the_problem(directory: PeopleDirectory) -> None:
    directory.create("ana", actor="admin", roles=["analyst"], password=PASSWORD)
    with pytest.raises(UserExists):
        directory.create("ana", actor="admin", roles=["analyst"], password=PASSWORD)
    with pytest.raises(InvalidUser, match="user name"):
        directory.create("Ana Lyst", actor="admin", roles=["analyst"], password=PASSWORD)
    with pytest.raises(InvalidUser, match="roles"):
        directory.create("bob", actor="admin", roles=[], password=PASSWORD)
    with pytest.raises(InvalidUser, match="roles"):
        directory.create("bob", actor="admin", roles=["root"], password=PASSWORD)  # type: ignore[list-item]
    with pytest.raises(InvalidUser, match="auditors only"):
        directory.set_engagement(
            "ana", (directory.get("ana").created_at, directory.get("ana").created_at + timedelta(1)), actor="a"
        )
    with pytest.raises(WeakPassword, match="common"):
        directory.create("bob", actor="admin", roles=["analyst"], password="Password123!")
    with pytest.raises(UserNotFound):
        directory.disable("nobody", actor="admin")
    with pytest.raises(UserNotFound):
        directory.show("../etc")
    assert [u.username for u in directory.list_users()] == ["ana"]


def test_a_stale_write_is_refused(directory: PeopleDirectory) -> None:
    directory.create("ana", actor="admin", roles=["analyst"], password=PASSWORD)
    stale = directory.get("ana")
    directory.set_roles("ana", ["admin"], actor="admin")
    with pytest.raises(ConcurrentChange):
        directory.store.replace(stale.model_copy(update={"disabled": True, "revision": stale.revision + 1}), None)
    assert directory.show("ana").roles == ("admin",)
    assert not directory.show("ana").disabled


def test_authenticate_refuses_every_case_with_one_message_and_emits_the_reason(
    directory: PeopleDirectory, sink: CollectingAuditSink, clock: Clock
) -> None:
    directory.create("ana", actor="admin", roles=["analyst"], password=PASSWORD)
    directory.create("dis", actor="admin", roles=["analyst"], password=PASSWORD)
    directory.disable("dis", actor="admin")
    directory.create("aud", actor="admin", roles=["auditor"], password=PASSWORD)
    directory.set_engagement("aud", (clock.now + timedelta(days=1), clock.now + timedelta(days=2)), actor="admin")
    directory.provision("fed", issuer="https://idp.example", roles=["analyst"])
    sink.events.clear()
    cases = [
        ("ana", "wrong-password-entirely", "wrong_password"),
        ("nobody", PASSWORD, "unknown_user"),
        ("dis", PASSWORD, "disabled"),
        ("dis", "wrong-password-entirely", "disabled"),
        ("aud", PASSWORD, "outside_engagement"),
        ("fed", PASSWORD, "no_password"),
        ("not a name", PASSWORD, "malformed"),
        ("ana", "x" * 5000, "wrong_password"),
    ]
    for username, password, reason in cases:
        with pytest.raises(AuthenticationFailed) as refused:
            directory.authenticate(username, password, source_ip="192.0.2.7", client_id="console")
        assert str(refused.value) == GENERIC_SIGN_IN_FAILURE
        assert refused.value.reason == reason, username
    assert [(e.action, e.outcome, e.reason) for e in sink.events] == [
        ("sign-in", "failure", reason) for _, _, reason in cases
    ]
    assert {str(e.source_ip) for e in sink.events} == {"192.0.2.7"}
    assert sink.events[6].actor == "(malformed)"
    assert all(PASSWORD not in e.model_dump_json() for e in sink.events)
    assert directory.authenticate(" Ana ", PASSWORD).username == "ana"
    clock.advance(86400 * 1.5)
    assert directory.authenticate("aud", PASSWORD).username == "aud"


def test_unknown_users_cost_as_much_as_wrong_passwords(directory: PeopleDirectory) -> None:
    directory.create("ana", actor="admin", roles=["analyst"], password=PASSWORD)

    def timed(username: str) -> float:
        start = time.perf_counter()
        with pytest.raises(AuthenticationFailed):
            directory.authenticate(username, "wrong-password-entirely")
        return time.perf_counter() - start

    timed("nobody")  # the dummy hash is made on first use
    rounds = [(timed("ana"), timed("nobody")) for _ in range(15)]
    known = statistics.median(r[0] for r in rounds)
    unknown = statistics.median(r[1] for r in rounds)
    # Both sides run one argon2id verification; without the dummy an unknown name answers in microseconds.
    assert unknown > known / 3, (known, unknown)


def test_a_changed_cost_rehashes_at_the_next_sign_in(
    make_directory: Callable[..., PeopleDirectory], directory: PeopleDirectory
) -> None:
    directory.create("ana", actor="admin", roles=["analyst"], password=PASSWORD)
    old = directory.get("ana").password_hash
    assert old is not None
    assert "t=1" in old.get_secret_value()
    stronger = make_directory(CHEAP.model_copy(update={"argon2_time_cost": 2}))
    stronger.authenticate("ana", PASSWORD)
    new = directory.get("ana").password_hash
    assert new is not None
    assert "t=2" in new.get_secret_value()
    assert [e.action for e in directory.history("ana")] == ["create"]  # bookkeeping, not a change of the person
    assert directory.authenticate("ana", PASSWORD).username == "ana"


def test_provisioning_creates_updates_and_never_takes_over(
    directory: PeopleDirectory, sink: CollectingAuditSink
) -> None:
    directory.create("ana", actor="admin", roles=["analyst"], password=PASSWORD)
    fed = directory.provision("zoe@example.com", issuer="https://idp.example", roles=["auditor"], source_ip="192.0.2.9")
    assert fed.source == "federated:https://idp.example"
    assert not fed.has_password
    assert directory.provision("zoe@example.com", issuer="https://idp.example", roles=["auditor"]) == fed
    updated = directory.provision("zoe@example.com", issuer="https://idp.example", roles=["analyst"])
    assert updated.roles == ("analyst",)
    with pytest.raises(UserExists):
        directory.provision("ana", issuer="https://idp.example", roles=["admin"])
    with pytest.raises(UserExists):
        directory.provision("zoe@example.com", issuer="https://other.example", roles=["admin"])
    with pytest.raises(InvalidUser, match="no password here"):
        directory.reset_password("zoe@example.com", PASSWORD, actor="admin")
    provisioned = [e for e in sink.events if e.action == "user-provisioned"]
    assert len(provisioned) == 2
    assert provisioned[0].actor == "federation:https://idp.example"
    assert str(provisioned[0].source_ip) == "192.0.2.9"
    assert directory.show("ana").roles == ("analyst",)


def test_mfa_policy_follows_roles_and_settings(make_directory: Callable[..., PeopleDirectory]) -> None:
    directory = make_directory()
    directory.create("adm", actor="root", roles=["admin"], password=PASSWORD)
    directory.create("aud", actor="root", roles=["auditor"], password=PASSWORD)
    directory.create("ana", actor="root", roles=["analyst"], password=PASSWORD)
    directory.provision("fed", issuer="https://idp.example", roles=["admin"])
    assert directory.requires_mfa(directory.show("adm"))
    assert directory.requires_mfa(directory.show("aud"))
    assert not directory.requires_mfa(directory.show("ana"))
    assert not directory.requires_mfa(directory.show("fed"))
    strict = make_directory(CHEAP.model_copy(update={"mfa_required_roles": frozenset({"admin", "auditor", "analyst"})}))
    assert strict.requires_mfa(strict.show("ana"))
    assert strict.requires_mfa(strict.get("ana"))
    assert PeopleSettings().mfa_required_roles == {"admin", "auditor"}


def test_a_person_changes_their_own_password(directory: PeopleDirectory, sink: CollectingAuditSink) -> None:
    directory.create("ana", actor="admin", roles=["analyst"], password=PASSWORD)
    with pytest.raises(AuthenticationFailed):
        directory.change_password("ana", "not-the-password-at-all", "another-long-passphrase-9", source_ip="192.0.2.3")
    with pytest.raises(WeakPassword):
        directory.change_password("ana", PASSWORD, "ana-password-ana")
    changed = directory.change_password("Ana", PASSWORD, "another-long-passphrase-9")
    assert changed.updated_by == "ana"
    assert directory.authenticate("ana", "another-long-passphrase-9").username == "ana"
    with pytest.raises(AuthenticationFailed):
        directory.authenticate("ana", PASSWORD)
    actions = [(e.action, e.outcome, e.actor) for e in sink.events]
    assert ("sign-in", "failure", "ana") in actions
    assert actions[-2] == ("user-password-reset", "success", "ana")
