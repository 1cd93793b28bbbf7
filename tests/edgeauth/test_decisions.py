"""Decision records: typed on the hot path, the same JSON as `DecisionEvent` on the wire, drained off the path."""

from __future__ import annotations

import json
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from edgeauth import CollectingSink, DecisionBuffer, DecisionEvent, DecisionRecord

_text = st.none() | st.text(max_size=30)
records = st.builds(
    DecisionRecord,
    timestamp=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    outcome=st.sampled_from(["success", "failure"]),
    reason=st.text(max_size=20),
    action=st.sampled_from(["verify", "token", "revoke", "introspect", "client_auth"]),
    subject=_text,
    client_id=_text,
    scopes=st.lists(st.text(max_size=10), max_size=4).map(tuple),
    jti=_text,
    kid=_text,
    alg=_text,
    source_ip=_text,
    method=_text,
    path=_text,
    latency_us=st.integers(min_value=0, max_value=10**9),
    request_id=_text,
)


@given(records)
def test_a_record_serialises_as_its_event_does(record: DecisionRecord) -> None:
    event = record.event()
    assert json.loads(record.json()) == json.loads(event.model_dump_json())
    assert DecisionEvent.model_validate_json(record.json()) == event


class SerialisingSink:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.models = 0

    def emit(self, events: Sequence[DecisionEvent]) -> None:
        self.models += len(events)

    def emit_serialized(self, events: Sequence[str]) -> None:
        self.lines.extend(events)


def _record(reason: str) -> DecisionRecord:
    return DecisionRecord(
        1.7e9, "failure", reason, "verify", None, None, (), None, None, None, "1.2.3.4", "GET", "/", 5, None
    )


def test_a_serialising_sink_gets_json_and_no_models() -> None:
    sink = SerialisingSink()
    buffer = DecisionBuffer(sink)
    buffer.record(_record("bad_signature"))
    event = _record("ok").event()
    buffer.submit(event)
    assert buffer.flush() == 2
    assert sink.models == 0
    assert [json.loads(line)["reason"] for line in sink.lines] == ["bad_signature", "ok"]


def test_a_full_buffer_counts_its_drops_and_a_model_sink_still_gets_events() -> None:
    sink = CollectingSink()
    buffer = DecisionBuffer(sink, capacity=3)
    for i in range(5):
        buffer.record(_record(f"r{i}"))
    assert buffer.dropped == 2
    assert buffer.flush() == 3
    assert [e.reason for e in sink.events] == ["r0", "r1", "r2"]
