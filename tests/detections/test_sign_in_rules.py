"""Vigil's sign-in rules over the people vocabulary (`edgeauth.people.events`): positives and negatives through the
real ingest (audit sink -> siem's stream -> worker drain -> Elasticsearch -> detection cycle -> alert), then end to
end from the real people directory."""

from __future__ import annotations

from collections.abc import Callable

import pyotp
import pytest
import redis
from pydantic import SecretStr

from detections import Detections
from edgeauth import AuditBuffer, Sealer
from edgeauth.people import AuthenticationFailed, PeopleDirectory, PeopleEvents, RedisUserStore, SecondFactorFailed
from edgeauth.settings import PeopleSettings
from siem import AuditRecordSink, Pipeline
from tests.detections.conftest import alerts_of, later

pytestmark = pytest.mark.integration

SPRAYING = "2c88ca2d-428c-4ec0-8be5-9d0e2752aa00"
MFA_FAILURES = "ce50b93d-fbc1-4048-8ffb-8e8280641dab"
DISABLED_SIGN_IN = "5a8d7ca3-83ce-4a51-beca-afa3cb56c158"
RECOVERY_CODE = "cfbce4fb-cf10-4667-a171-108b0358033f"
SIGN_IN_RULES = (SPRAYING, MFA_FAILURES, DISABLED_SIGN_IN, RECOVERY_CODE)

SPRAYER, OFFICE, GUESSER, HOME = "203.0.113.7", "198.51.100.8", "198.51.100.9", "192.0.2.44"
# Low cost: these tests check what the rules see, the benchmark measures the configured cost.
CHEAP = PeopleSettings(argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1)
PASSWORD = "violet-harbour-gravel-37"


def groups(det: Detections, rule_id: str) -> set[str]:
    return {a.group_key for a in alerts_of(det, rule_id)}


def drained(pipeline: Pipeline, buffer: AuditBuffer, expected: int) -> None:
    assert buffer.close() == 0
    report = pipeline.drain()
    assert (report.indexed, report.dead_lettered) == (expected, 0), report


def test_each_sign_in_rule_fires_on_its_pattern_and_not_on_its_neighbours(
    pipeline: Pipeline, make_detections: Callable[..., Detections]
) -> None:
    buffer = AuditBuffer(AuditRecordSink(pipeline))
    events = PeopleEvents(buffer)
    # Spraying: one source, five different people refused (any reason) within the window.
    for name, reason in [("ana", "wrong_password"), ("bo", "wrong_password"), ("cy", "unknown_user")]:
        events.sign_in_failed(name, reason, source_ip=SPRAYER)
    events.sign_in_failed("dee", "wrong_password", source_ip=SPRAYER)
    events.sign_in_failed("Robert'); DROP TABLE--", "malformed", source_ip=SPRAYER)  # counted as "(malformed)"
    # Not spraying: one person retrying their own password eight times, and four people behind one office NAT.
    for _ in range(8):
        events.sign_in_failed("ed", "wrong_password", source_ip=GUESSER)
    for name in ("fay", "gus", "hal", "ivy"):
        events.sign_in_failed(name, "wrong_password", source_ip=OFFICE)
    # Repeated second-factor failures: five for one person; four for another, and five people once each.
    for reason in ("invalid_code", "invalid_code", "replayed", "invalid_code", "malformed"):
        events.mfa_failed("jo", reason, source_ip=GUESSER)
    for _ in range(4):
        events.mfa_failed("kim", "invalid_code", source_ip=OFFICE)
    for name in ("lu", "mo", "ned", "oz", "pat"):
        events.mfa_failed(name, "invalid_code", source_ip=OFFICE)
    # A disabled person trying to sign in; a wrong password of an enabled one is not that.
    events.sign_in_failed("leaver", "disabled", source_ip=HOME)
    events.mfa_failed("late-leaver", "disabled", source_ip=HOME)  # disabled between the password and the code
    # A recovery code used; recovery codes generated (enrolment) and a TOTP sign-in are not that.
    events.recovery_code_used("lost-phone", remaining=9, source_ip=OFFICE)
    events.emit("recovery-codes-generated", "fresh", actor="admin")
    events.sign_in_succeeded("fresh", methods=("password", "totp"), source_ip=OFFICE, client_id="console")
    drained(pipeline, buffer, 5 + 8 + 4 + 5 + 4 + 5 + 2 + 1 + 2)

    det = make_detections()
    report = det.run_cycle(later())
    assert not report.errors
    assert groups(det, SPRAYING) == {f"source.ip={SPRAYER}"}
    [spray] = alerts_of(det, SPRAYING)
    assert spray.count == 5
    assert groups(det, MFA_FAILURES) == {"user.name=jo"}
    assert groups(det, DISABLED_SIGN_IN) == {"vigil.audit.target=user:leaver", "vigil.audit.target=user:late-leaver"}
    assert groups(det, RECOVERY_CODE) == {"vigil.audit.target=user:lost-phone"}
    assert {a.level.value for rule in SIGN_IN_RULES for a in alerts_of(det, rule)} <= {"medium", "high"}


def test_the_real_directory_raises_every_sign_in_alert(
    pipeline: Pipeline,
    make_detections: Callable[..., Detections],
    redis_conn: redis.Redis,
    det_prefix: str,
) -> None:
    """Users created, disabled and enrolled through `PeopleDirectory`; the refusals it emits raise the alerts."""
    buffer = AuditBuffer(AuditRecordSink(pipeline))
    people = PeopleDirectory(
        RedisUserStore(redis_conn, f"{det_prefix}:edgeauth"),
        sealer=Sealer(SecretStr("sign-in-rules-kek")),
        settings=CHEAP,
        audit=buffer,
    )
    names = ["amy", "ben", "cal", "dot", "eve"]
    for name in names:
        people.create(name, actor="admin", roles=["analyst"], password=PASSWORD)
    people.disable("eve", actor="admin")
    for name in [*names, "nobody"]:
        with pytest.raises(AuthenticationFailed):
            people.authenticate(name, "Winter2026!", source_ip=SPRAYER)
    with pytest.raises(AuthenticationFailed):
        people.authenticate("eve", PASSWORD, source_ip=OFFICE)  # the right password does not help a leaver
    assert people.authenticate("amy", PASSWORD, source_ip=OFFICE).username == "amy"

    enrolment = people.begin_totp_enrolment("amy", actor="amy")
    code = pyotp.TOTP(enrolment.secret.get_secret_value()).now()
    recovery = people.confirm_totp("amy", code, actor="amy", source_ip=OFFICE).codes
    for guess in ("000000", "111111", "222222", "333333", "444444"):
        if guess == code:
            continue
        with pytest.raises(SecondFactorFailed):
            people.verify_second_factor("amy", guess, source_ip=GUESSER)
    with pytest.raises(SecondFactorFailed):
        people.verify_second_factor("amy", code, source_ip=GUESSER)  # replayed: its time step is spent
    assert people.verify_second_factor("amy", recovery[0].get_secret_value(), source_ip=OFFICE) == "recovery_code"
    assert buffer.close() == 0
    pipeline.drain()

    det = make_detections()
    report = det.run_cycle(later())
    assert not report.errors
    assert groups(det, SPRAYING) == {f"source.ip={SPRAYER}"}
    assert groups(det, MFA_FAILURES) == {"user.name=amy"}
    assert groups(det, DISABLED_SIGN_IN) == {"vigil.audit.target=user:eve"}
    [leaver] = alerts_of(det, DISABLED_SIGN_IN)
    assert leaver.count == 2
    assert groups(det, RECOVERY_CODE) == {"vigil.audit.target=user:amy"}
