"""edgeauth decision events into the pipeline: siem's implementation of edgeauth's `DecisionSink` Protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from edgeauth import DecisionEvent

AUTH_FORMAT = "auth"


class RecordQueue(Protocol):
    """Where auth records go: `Pipeline` in the app, its `EventStream` alone in the edge verifier process."""

    def push(self, fmt: str, records: Sequence[str], *, source: str) -> object: ...


class AuthDecisionSink:
    """Queues decision events as `auth` records (one stream write per buffer flush).

    Above the high-water mark `push` raises `BackpressureError`; edgeauth's buffer counts that batch as dropped
    (`sink_error`) and the verifier never waits on the SIEM.
    """

    def __init__(self, queue: RecordQueue) -> None:
        self.queue = queue

    def emit(self, events: Sequence[DecisionEvent]) -> None:
        self.emit_serialized([event.model_dump_json() for event in events])

    def emit_serialized(self, events: Sequence[str]) -> None:
        """Events already in `DecisionEvent`'s JSON: edgeauth's buffer serialises them without building models."""
        if events:
            self.queue.push(AUTH_FORMAT, events, source="edgeauth")
