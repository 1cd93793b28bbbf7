"""The sign-in vocabulary as siem indexes it: every action parses into a valid ECS `audit` document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest

from edgeauth import CollectingAuditSink
from edgeauth.people import ACTIONS, PeopleAction, PeopleEvents
from siem.parsers import parse_record

MOMENT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_every_action_has_its_ecs_category_and_type() -> None:
    assert set(ACTIONS) == set(get_args(PeopleAction))


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_action_becomes_an_ecs_document(action: PeopleAction) -> None:
    sink = CollectingAuditSink()
    events = PeopleEvents(sink, clock=lambda: MOMENT)
    events.emit(action, "ana", actor="alice", reason="why", source_ip="2001:db8::1", client_id="console")
    (event,) = sink.events
    document = parse_record("audit", event.model_dump_json(), event_id=event.id, received=MOMENT)
    category, kind = ACTIONS[action]
    assert document["event"]["action"] == action
    assert document["event"]["category"] == [category]
    assert document["event"]["type"] == [kind]
    assert document["event"]["reason"] == "why"
    assert document["user"] == {"name": "alice"}
    assert document["source"] == {"ip": "2001:db8::1"}
    assert document["client"] == {"id": "console"}
    assert document["vigil"]["audit"]["target"] == "user:ana"


def test_sign_in_failures_keep_the_reason_and_never_a_malformed_name() -> None:
    sink = CollectingAuditSink()
    events = PeopleEvents(sink, clock=lambda: MOMENT)
    events.sign_in_failed("ana", "wrong_password", source_ip="192.0.2.1", client_id="console")
    events.sign_in_failed("hunter2 my password", "malformed", source_ip="not an address")
    events.sign_in_succeeded("ana", methods=("password", "totp"), source_ip="192.0.2.1", client_id="console")
    first, second, third = sink.events
    assert (first.outcome, first.reason, first.actor, str(first.source_ip)) == (
        "failure",
        "wrong_password",
        "ana",
        "192.0.2.1",
    )
    assert second.actor == "(malformed)"
    assert second.target == "user:(malformed)"
    assert second.source_ip is None  # an address that does not parse is left out, never raised
    assert "hunter2" not in second.model_dump_json()
    assert (third.outcome, third.reason, third.category, third.type) == (
        "success",
        "password+totp",
        "authentication",
        "start",
    )


def test_over_long_fields_are_cut_not_raised() -> None:
    sink = CollectingAuditSink()
    PeopleEvents(sink).sign_in_failed("ana", "r" * 5000, source_ip="192.0.2.1", client_id="c" * 999)
    (event,) = sink.events
    assert event.reason == "r" * 1024
    assert event.client_id == "c" * 256


def test_without_a_sink_nothing_happens() -> None:
    PeopleEvents(None).sign_in_failed("ana", "wrong_password", source_ip="192.0.2.1")
