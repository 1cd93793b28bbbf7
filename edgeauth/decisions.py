"""Decision events: a bounded, non-blocking buffer between verification and a `DecisionSink`.

The hot path only appends a `DecisionRecord` (a typed tuple: no model is built, no lock taken, no I/O) to a
bounded deque; a drain thread turns records into events (or straight into JSON, for a sink that takes
serialised events) and hands batches to the sink. A full buffer drops the record and counts it; a failing sink is
counted too. Neither ever slows or fails a verification.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple, Protocol, runtime_checkable

import orjson
from prometheus_client import Counter

from edgeauth.buffer import BoundedBuffer
from edgeauth.models import DecisionAction, DecisionEvent, DecisionOutcome

log = logging.getLogger(__name__)

DECISIONS = Counter("edgeauth_decisions", "Authentication decisions handed to the sink", ["outcome", "reason"])
DROPPED = Counter("edgeauth_decision_events_dropped", "Decision events dropped", ["cause"])
_FAILURE_LOG_INTERVAL = 10.0


class DecisionRecord(NamedTuple):
    """One verification decision as the hot path records it: the fields of `DecisionEvent`, time as a float.

    A NamedTuple rather than a model or dataclass: building one costs a few hundred nanoseconds (a slotted
    dataclass about as much, a pydantic model tens of microseconds), and the drain thread pays for the rest.
    """

    timestamp: float
    outcome: DecisionOutcome
    reason: str
    action: DecisionAction
    subject: str | None
    client_id: str | None
    scopes: tuple[str, ...]
    jti: str | None
    kid: str | None
    alg: str | None
    source_ip: str | None
    method: str | None
    path: str | None
    latency_us: int
    request_id: str | None

    def event(self) -> DecisionEvent:
        return DecisionEvent(**{**self._asdict(), "timestamp": datetime.fromtimestamp(self.timestamp, UTC)})

    def json(self) -> str:
        """The same JSON object as `self.event().model_dump_json()`, without building the model."""
        # zip over the field names: `_asdict()` costs several times as much, and this runs per shipped event.
        fields: dict[str, object] = dict(zip(self._fields, self, strict=True))
        fields["timestamp"] = datetime.fromtimestamp(self.timestamp, UTC)
        return orjson.dumps(fields, option=orjson.OPT_UTC_Z).decode()


class DecisionSink(Protocol):
    def emit(self, events: Sequence[DecisionEvent]) -> None: ...


@runtime_checkable
class SerializedDecisionSink(Protocol):
    """A sink that takes events as JSON objects (`DecisionEvent`'s JSON): the buffer never builds models for it."""

    def emit(self, events: Sequence[DecisionEvent]) -> None: ...

    def emit_serialized(self, events: Sequence[str]) -> None: ...


class DecisionBuffer(BoundedBuffer[DecisionRecord | DecisionEvent]):
    """Bounded queue of decisions; `start()` runs the drain thread, `flush()` drains synchronously.

    A batch the sink refuses is dropped and counted: verifications go on at their own rate, a backlog would only
    grow.
    """

    keeps_refused = False

    def __init__(
        self, sink: DecisionSink | None, *, capacity: int = 10_000, batch_size: int = 500, interval: float = 0.2
    ) -> None:
        super().__init__("edgeauth-decisions", capacity=capacity, batch_size=batch_size, interval=interval)
        self._sink = sink
        self._serialized = sink if isinstance(sink, SerializedDecisionSink) else None
        self.dropped = 0
        self._next_failure_log = 0.0

    def submit(self, event: DecisionEvent) -> None:
        """Queue a ready-made event (the issuer's token, revoke, introspect and client-auth decisions)."""
        self.put(event)

    # The hot path: the base class's `put` itself, no extra call in between.
    record = BoundedBuffer.put

    def _overflow(self, count: int, cause: str) -> None:
        if cause == "buffer_full":
            self.dropped += count
        DROPPED.labels(cause).inc(count)

    def _deliver(self, batch: list[DecisionRecord | DecisionEvent]) -> None:
        # One counter update per (outcome, reason) and batch: the metric's lock is not taken per event.
        for (outcome, reason), n in Tally((r.outcome, r.reason) for r in batch).items():
            DECISIONS.labels(outcome, reason).inc(n)
        if self._serialized is not None:
            self._serialized.emit_serialized([_json(r) for r in batch])
        elif self._sink is not None:
            self._sink.emit([r if isinstance(r, DecisionEvent) else r.event() for r in batch])

    def _refused(self, batch: list[DecisionRecord | DecisionEvent], exc: Exception) -> None:
        DROPPED.labels("sink_error").inc(len(batch))
        # One log line per interval, not per batch: a SIEM refusing thousands of events a second (back-pressure)
        # must not turn into a traceback storm that costs the verifier its CPU.
        now = time.monotonic()
        if now >= self._next_failure_log:
            self._next_failure_log = now + _FAILURE_LOG_INTERVAL
            log.error(
                "decision sink failed (%s: %s): %d failed batches so far, each dropped and counted",
                type(exc).__name__,
                exc,
                self.sink_failures,
                exc_info=self.sink_failures == 1,
            )


def _json(r: DecisionRecord | DecisionEvent) -> str:
    return r.model_dump_json() if isinstance(r, DecisionEvent) else r.json()


class CollectingSink:
    """A sink keeping events in memory (for tests and the standalone edge without a SIEM)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.events: deque[DecisionEvent] = deque(maxlen=limit)

    def emit(self, events: Sequence[DecisionEvent]) -> None:
        self.events.extend(events)
