"""Which clients an alert names (`clients`, indexed for per-client transparency reports): every source field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from detections.alerts.store import clients_of, from_hit, to_document
from detections.models import Alert, EventSnapshot, Level

T = datetime(2026, 3, 1, tzinfo=UTC)


def _alert(*fields: dict[str, Any]) -> Alert:
    return Alert(
        id="a1",
        rule_id="r1",
        rule_title="A rule",
        level=Level.HIGH,
        dataset="auth",
        group_key="k",
        first_seen=T,
        last_seen=T,
        created=T,
        updated=T,
        count=len(fields),
        events=[EventSnapshot(id=f"e{i}", fields=f) for i, f in enumerate(fields)],
    )


def test_every_client_field_of_the_recorded_events_counts_once() -> None:
    alert = _alert(
        {"vigil.auth.client_id": "acme", "source.ip": "192.0.2.1"},
        {"client.id": "globex"},
        {"vigil.audit.target": "client:initech"},
        {"vigil.audit.target": "key:abc"},  # not a client
        {"clients": ["umbrella", "acme", 7, ""]},  # a raised alert's evidence list; non-strings ignored
        {"vigil.auth.client_id": ""},
    )
    assert clients_of(alert) == ["acme", "globex", "initech", "umbrella"]


def test_the_field_is_indexed_and_never_read_back_into_the_model() -> None:
    alert = _alert({"vigil.auth.client_id": "acme"})
    document = to_document(alert)
    assert document["clients"] == ["acme"]
    assert from_hit({"_source": document}) == alert


def test_an_alert_without_client_fields_names_none() -> None:
    assert clients_of(_alert({"source.ip": "192.0.2.1"}, {"vigil.audit.target": "client:"})) == []
