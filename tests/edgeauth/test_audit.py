"""The audit sink protocol: deterministic ids, what a change granted, and a buffer that never loses in silence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from edgeauth import AuditBuffer, AuditEvent, CollectingAuditSink, EdgeAuthSettings, KeyStore
from edgeauth.issuer import ROLE_SCOPES, ClientRegistry

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def change(**overrides: object) -> AuditEvent:
    fields: dict[str, object] = {
        "timestamp": AT,
        "provider": "edgeauth",
        "action": "client-updated",
        "category": "iam",
        "actor": "ops",
        "target": "client:billing",
        "before": {"scopes": ["alerts:read"]},
        "after": {"scopes": ["alerts:read", "rules:admin"]},
    }
    fields.update(overrides)
    return AuditEvent.model_validate(fields)


class FlakySink:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.events: list[AuditEvent] = []

    def emit(self, events: Sequence[AuditEvent]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("siem down")
        self.events.extend(events)


def test_id_is_deterministic_and_content_bound() -> None:
    assert change().id == change().id
    assert change().id != change(actor="someone-else").id


def test_added_and_removed_are_what_the_change_granted_and_took() -> None:
    assert change().added == ["rules:admin"]
    assert change(before={"scopes": ["x"]}, after={"scopes": []}).removed == ["x"]
    assert change(before=None).added == ["alerts:read", "rules:admin"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("action", "Key Rotated"), ("category", "network"), ("timestamp", "2026-12-01T12:00:00"), ("target", "")],
)
def test_malformed_events_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        change(**{field: value})
    assert caught.value.errors()[0]["loc"][0] == field


def test_a_refused_batch_stays_queued_and_is_delivered_later() -> None:
    sink = FlakySink(failures=2)
    buffer = AuditBuffer(sink, capacity=10)
    buffer.emit([change(), change(actor="b")])
    assert buffer.flush() == 0
    assert buffer.flush() == 0
    assert buffer.flush() == 2
    assert [e.actor for e in sink.events] == ["ops", "b"]
    assert (buffer.lost, buffer.sink_failures) == (0, 2)


def test_a_full_buffer_counts_every_event_it_cannot_keep() -> None:
    buffer = AuditBuffer(FlakySink(failures=100), capacity=2)
    buffer.emit([change(actor=str(n)) for n in range(5)])
    assert (len(buffer), buffer.lost) == (2, 3)
    assert buffer.close() == 5  # what the sink never took is counted at close, never dropped in silence
    assert len(buffer) == 0


def test_emit_never_blocks_on_the_sink() -> None:
    collected = CollectingAuditSink()
    buffer = AuditBuffer(collected, capacity=10)
    buffer.emit([change()])
    assert not collected.events  # handed over by the drain thread or flush, never by emit
    buffer.close()
    assert list(collected.events) == [change()]


@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True), st.lists(st.sampled_from(["a", "b", "e"])))
def test_added_never_includes_what_was_there(before: list[str], after: list[str]) -> None:
    event = change(before={"scopes": before}, after={"scopes": after})
    assert set(event.added) == set(after) - set(before)
    assert set(event.removed) == set(before) - set(after)


@pytest.mark.integration
def test_key_changes_are_audited_with_whether_the_schedule_made_them(
    redis_conn: redis.Redis, redis_namespace: str
) -> None:
    sink = CollectingAuditSink()
    settings = EdgeAuthSettings(
        namespace=redis_namespace, key_encryption_key=SecretStr("kek-for-tests"), key_publish_lead=0
    )
    store = KeyStore(redis_conn, settings, audit=sink)
    store.ensure()
    store.rotate("scheduled", scheduled=True)
    store.rotate("suspected leak", force=True, actor="ops")
    rotations = [e for e in sink.events if e.action == "key-rotated"]
    assert [(e.trigger, e.actor, e.reason) for e in rotations] == [
        ("schedule", None, "scheduled"),
        ("operator", "ops", "suspected leak"),
    ]
    assert all(e.category == "iam" and e.target.startswith("key:") for e in sink.events)
    assert {"key-published", "key-activated", "key-retired"} <= {e.action for e in sink.events}
    assert rotations[1].after == {"active": [store.inventory()[-2].kid], "forced": True}
    # the rotation log keeps its own record, as before
    assert len(store.history()) == sum(1 for e in sink.events if e.action != "key-rotated")


@pytest.mark.integration
def test_client_changes_are_audited_with_the_access_before_and_after(
    redis_conn: redis.Redis, redis_namespace: str
) -> None:
    sink = CollectingAuditSink()
    settings = EdgeAuthSettings(namespace=redis_namespace, key_encryption_key=SecretStr("audit-test-kek"))
    registry = ClientRegistry.from_settings(settings, redis_conn, audit=sink)
    registry.create("reports", actor="ops", role="analyst", audiences=["vigil"])
    registry.set_scopes("reports", ["alerts:read", "rules:admin"], actor="eve")
    registry.set_disabled("reports", True, actor="ops")
    created, widened, disabled = sink.events
    assert (created.action, created.type, created.before) == ("client-created", "creation", None)
    assert created.added == sorted(ROLE_SCOPES["analyst"] | {"client_credentials", "vigil"})
    assert (widened.action, widened.actor) == ("client-updated", "eve")
    assert widened.added == ["rules:admin"]
    assert widened.removed == sorted(ROLE_SCOPES["analyst"] - {"alerts:read"})
    assert disabled.action == "client-disabled"
    assert disabled.after is not None
    assert disabled.after["disabled"] is True
    assert "secret" not in created.model_dump_json()
    # the registry's own trail keeps every change too
    assert [e.action for e in registry.history("reports")] == ["create", "update", "disable"]
