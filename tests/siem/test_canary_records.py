"""Canary probe records (`canary` dataset): the ECS event they become, and precise refusals of bad ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siem import CanaryRecord, ParseError
from siem.parsers import parse_record

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RECORD = CanaryRecord(
    id="canary-abc",
    timestamp=AT,
    canary="premium-orders",
    tier="premium",
    clients=("acme-corp",),
    client_id="canary-premium",
    outcome="failure",
    duration_ns=0,
    slow=False,
    latency_objective_ms=300,
    url="http://127.0.0.1:8080/api/orders",
    failed_step="request",
    reason="HTTP 502",
)


def parsed(record: str) -> dict[str, object]:
    return parse_record("canary", record, event_id="e1", received=AT)


def test_a_probe_becomes_an_ecs_web_event_with_duration_outcome_and_tier() -> None:
    doc = parsed(RECORD.model_copy(update={"outcome": "success", "duration_ns": 42_000_000, "slow": False,
                                           "failed_step": None, "reason": None}).model_dump_json())  # fmt: skip
    assert doc["event"] == {
        "id": "canary-abc",
        "kind": "event",
        "category": ["web"],
        "type": ["info"],
        "action": "canary-probe",
        "outcome": "success",
        "provider": "vigil-canary",
        "duration": 42_000_000,
        "dataset": "canary",
        "original": doc["event"]["original"],  # type: ignore[index]
        "ingested": "2026-12-01T12:00:00Z",
    }
    assert doc["vigil"] == {
        "canary": {
            "name": "premium-orders",
            "tier": "premium",
            "clients": ["acme-corp"],
            "slow": False,
            "latency_objective_ms": 300.0,
        }
    }
    assert doc["client"] == {"id": "canary-premium"}
    assert doc["http"] == {"request": {"id": "canary-abc"}}


def test_a_failed_probe_says_where_and_why() -> None:
    doc = parsed(RECORD.model_dump_json())
    assert doc["message"] == "canary premium-orders (premium): failed at request: HTTP 502"
    assert doc["event"]["reason"] == "HTTP 502"  # type: ignore[index]
    assert doc["vigil"]["canary"]["step"] == "request"  # type: ignore[index]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outcome": "maybe"}, "canary record field outcome"),
        ({"duration_ns": -1}, "canary record field duration_ns"),
        ({"clients": []}, "canary record field clients"),
        ({"timestamp": "2026-12-01T12:00:00"}, "canary record field timestamp"),
        ({"extra": 1}, "canary record field extra"),
    ],
)
def test_a_bad_record_is_refused_naming_its_field(change: dict[str, object], message: str) -> None:
    record = {**json.loads(RECORD.model_dump_json()), **change}
    with pytest.raises(ParseError, match=message):
        parsed(json.dumps(record))


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=300)
    | st.dictionaries(st.sampled_from(list(CanaryRecord.model_fields)), st.integers() | st.text(max_size=5)).map(
        json.dumps
    )
)
def test_any_input_parses_or_is_one_parse_error(record: str) -> None:
    try:
        doc = parsed(record)
    except ParseError:
        return
    assert doc["event"]["dataset"] == "canary"  # type: ignore[index]
