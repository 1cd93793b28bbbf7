"""TOTP enrolment, the second-factor check and recovery codes, through the directory on the real Redis."""

from __future__ import annotations

import threading
import uuid
from typing import cast

import pyotp
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from edgeauth import CollectingAuditSink, KeyStoreError, Sealer
from edgeauth.people import (
    GENERIC_SECOND_FACTOR_FAILURE,
    EnrolmentError,
    PeopleDirectory,
    RedisUserStore,
    SecondFactorFailed,
)
from tests.edgeauth.people.conftest import PASSWORD, Clock

pytestmark = pytest.mark.integration


def enrol(directory: PeopleDirectory, clock: Clock, username: str = "adm") -> tuple[pyotp.TOTP, list[str]]:
    directory.create(username, actor="root", roles=["admin"], password=PASSWORD)
    enrolment = directory.begin_totp_enrolment(username, actor="root")
    app = pyotp.TOTP(enrolment.secret.get_secret_value())
    issued = directory.confirm_totp(username, app.at(clock.now), actor=username)
    clock.advance(30)
    return app, [c.get_secret_value() for c in issued.codes]


def test_enrolment_is_sealed_pending_then_confirmed(
    directory: PeopleDirectory, clock: Clock, redis_conn: redis.Redis, redis_namespace: str, sink: CollectingAuditSink
) -> None:
    directory.create("adm", actor="root", roles=["admin"], password=PASSWORD)
    enrolment = directory.begin_totp_enrolment("adm", actor="root")
    secret = enrolment.secret.get_secret_value()
    uri = enrolment.provisioning_uri.get_secret_value()
    assert uri.startswith("otpauth://totp/Vigil:adm?")
    assert f"secret={secret}" in uri
    assert enrolment.qr_svg.startswith("<svg")
    assert "<script" not in enrolment.qr_svg
    assert secret not in repr(enrolment)
    raw = cast(bytes, redis_conn.get(f"{redis_namespace}:edgeauth:user:adm"))
    assert secret.encode() not in raw
    assert directory.show("adm").mfa == "pending"
    # A pending secret is no second factor yet.
    with pytest.raises(SecondFactorFailed) as refused:
        directory.verify_second_factor("adm", pyotp.TOTP(secret).at(clock.now))
    assert refused.value.reason == "not_enrolled"
    with pytest.raises(SecondFactorFailed):
        directory.confirm_totp("adm", "000000" if pyotp.TOTP(secret).at(clock.now) != "000000" else "111111", actor="a")
    issued = directory.confirm_totp("adm", pyotp.TOTP(secret).at(clock.now), actor="adm")
    assert len(issued.codes) == 10
    assert len(set(issued.codes)) == 10
    assert directory.show("adm").mfa == "totp"
    assert directory.show("adm").recovery_codes_left == 10
    raw = cast(bytes, redis_conn.get(f"{redis_namespace}:edgeauth:user:adm"))
    assert all(c.get_secret_value().encode() not in raw for c in issued.codes)
    assert all(c.get_secret_value().replace("-", "").encode() not in raw for c in issued.codes)
    with pytest.raises(EnrolmentError):
        directory.begin_totp_enrolment("adm", actor="root")
    assert "totp-enrolled" in [e.action for e in sink.events]


def test_a_code_is_accepted_once_within_the_skew_window(directory: PeopleDirectory, clock: Clock) -> None:
    app, _codes = enrol(directory, clock)
    code = app.at(clock.now)
    assert directory.verify_second_factor("adm", code) == "totp"
    with pytest.raises(SecondFactorFailed) as replayed:
        directory.verify_second_factor("adm", code)
    assert replayed.value.reason == "replayed"
    assert str(replayed.value) == GENERIC_SECOND_FACTOR_FAILURE
    clock.advance(30)
    # The previous step's code (a phone 30 s slow) is still inside the window, but it is older than the last one
    # accepted, so it is refused; the next step's code (a phone 30 s fast) is accepted.
    with pytest.raises(SecondFactorFailed):
        directory.verify_second_factor("adm", app.at(clock.now, counter_offset=-1))
    assert directory.verify_second_factor("adm", app.at(clock.now, counter_offset=1)) == "totp"
    clock.advance(120)
    with pytest.raises(SecondFactorFailed) as outside:
        directory.verify_second_factor("adm", app.at(clock.now, counter_offset=2))
    assert outside.value.reason == "invalid_code"
    assert directory.verify_second_factor("adm", f" {app.at(clock.now)[:3]} {app.at(clock.now)[3:]} ") == "totp"


def test_the_same_code_at_two_replicas_at_once_is_accepted_once(
    make_directory: object, directory: PeopleDirectory, clock: Clock
) -> None:
    app, _codes = enrol(directory, clock)
    code = app.at(clock.now)
    replicas = [directory, make_directory()]  # type: ignore[operator]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(replicas))

    def attempt(replica: PeopleDirectory) -> None:
        barrier.wait()
        try:
            outcomes.append(replica.verify_second_factor("adm", code))
        except SecondFactorFailed as exc:
            outcomes.append(exc.reason)

    threads = [threading.Thread(target=attempt, args=(r,)) for r in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["replayed", "totp"]


def test_a_disabled_user_s_codes_count_no_more(directory: PeopleDirectory, clock: Clock) -> None:
    app, codes = enrol(directory, clock)
    directory.disable("adm", actor="root")
    for code in (app.at(clock.now), codes[0]):
        with pytest.raises(SecondFactorFailed) as refused:
            directory.verify_second_factor("adm", code)
        assert refused.value.reason == "disabled"
    directory.enable("adm", actor="root")
    assert directory.verify_second_factor("adm", codes[0]) == "recovery_code"


def test_recovery_codes_are_one_time(directory: PeopleDirectory, clock: Clock, sink: CollectingAuditSink) -> None:
    _app, codes = enrol(directory, clock)
    assert directory.verify_second_factor("adm", codes[0].upper(), source_ip="192.0.2.1") == "recovery_code"
    with pytest.raises(SecondFactorFailed):
        directory.verify_second_factor("adm", codes[0])
    assert directory.verify_second_factor("adm", codes[1].replace("-", "")) == "recovery_code"
    assert directory.show("adm").recovery_codes_left == 8
    used = [e for e in sink.events if e.action == "recovery-code-used"]
    assert [(e.reason, str(e.source_ip)) for e in used] == [("9 left", "192.0.2.1"), ("8 left", "None")]
    fresh = directory.new_recovery_codes("adm", actor="adm")
    with pytest.raises(SecondFactorFailed):
        directory.verify_second_factor("adm", codes[2])
    assert directory.verify_second_factor("adm", fresh.codes[0].get_secret_value()) == "recovery_code"
    for junk in ("", "12345", "not a code at all", "0" * 16, "\ud800" * 6):
        with pytest.raises(SecondFactorFailed):
            directory.verify_second_factor("adm", junk)


def test_reset_mfa_forgets_everything(directory: PeopleDirectory, clock: Clock, sink: CollectingAuditSink) -> None:
    app, codes = enrol(directory, clock)
    directory.reset_mfa("adm", actor="root")
    assert directory.show("adm").mfa == "none"
    assert directory.show("adm").recovery_codes_left == 0
    for code in (app.at(clock.now), codes[0]):
        with pytest.raises(SecondFactorFailed) as refused:
            directory.verify_second_factor("adm", code)
        assert refused.value.reason == "not_enrolled"
    assert directory.begin_totp_enrolment("adm", actor="root").secret.get_secret_value() != app.secret
    reset = [e for e in sink.events if e.action == "user-mfa-reset"]
    assert reset[0].actor == "root"
    assert reset[0].before is not None
    assert reset[0].before["mfa"] == "totp"
    failures = [e for e in sink.events if e.action == "mfa-failed"]
    assert {e.reason for e in failures} == {"not_enrolled"}


def test_a_sealed_secret_does_not_open_under_another_name(directory: PeopleDirectory, clock: Clock) -> None:
    enrol(directory, clock, "adm")
    enrol(directory, clock, "bob")
    bob = directory.get("bob")
    adm = directory.get("adm")
    moved = bob.model_copy(update={"totp": adm.totp, "revision": bob.revision + 1})
    directory.store.replace(moved, None)
    with pytest.raises(KeyStoreError, match="cannot decrypt"):
        directory.verify_second_factor("bob", "123456")


def test_a_kek_rotation_reseals_every_totp_secret(
    directory: PeopleDirectory, clock: Clock, redis_conn: redis.Redis, redis_namespace: str
) -> None:
    app, _codes = enrol(directory, clock, "adm")
    directory.create("ana", actor="root", roles=["analyst"], password=PASSWORD)
    rotated = PeopleDirectory(
        RedisUserStore(redis_conn, f"{redis_namespace}:edgeauth"),
        sealer=Sealer(SecretStr("the-next-kek"), [SecretStr("people-test-kek")]),
        settings=directory.settings,
        clock=clock,
    )
    assert rotated.reseal() == 1
    assert rotated.reseal() == 0
    only_new = PeopleDirectory(
        RedisUserStore(redis_conn, f"{redis_namespace}:edgeauth"),
        sealer=Sealer(SecretStr("the-next-kek")),
        settings=directory.settings,
        clock=clock,
    )
    assert only_new.verify_second_factor("adm", app.at(clock.now)) == "totp"
    with pytest.raises(KeyStoreError):
        directory.verify_second_factor("adm", app.at(clock.now, counter_offset=1))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.tuples(st.integers(0, 75), st.integers(-2, 2)), min_size=1, max_size=6))
def test_totp_accepts_exactly_the_unspent_steps_inside_the_window(
    directory: PeopleDirectory, clock: Clock, moves: list[tuple[int, int]]
) -> None:
    """Model: a code is accepted iff its step is within one step of now and later than the last accepted one."""
    username = f"u{uuid.uuid4().hex[:12]}"
    app, _codes = enrol(directory, clock, username)
    last = directory.get(username).totp.last_step  # type: ignore[union-attr]
    assert last is not None
    for advance, offset in moves:
        clock.advance(advance)
        code = app.at(clock.now, counter_offset=offset)
        now_step = app.timecode(clock.now)
        candidates = [s for s in range(now_step - 1, now_step + 2) if app.generate_otp(s) == code]
        step = max(candidates) if candidates else None
        expected = step is not None and step > last
        try:
            accepted = directory.verify_second_factor(username, code) == "totp"
        except SecondFactorFailed:
            accepted = False
        assert accepted == expected, (advance, offset, step, last)
        if accepted:
            assert step is not None
            last = step


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 9), min_size=1, max_size=14))
def test_each_recovery_code_works_exactly_once(directory: PeopleDirectory, clock: Clock, picks: list[int]) -> None:
    username = f"u{uuid.uuid4().hex[:12]}"
    _app, codes = enrol(directory, clock, username)
    spent: set[int] = set()
    for pick in picks:
        try:
            accepted = directory.verify_second_factor(username, codes[pick]) == "recovery_code"
        except SecondFactorFailed:
            accepted = False
        assert accepted == (pick not in spent)
        spent.add(pick)
    assert directory.show(username).recovery_codes_left == 10 - len(spent)
