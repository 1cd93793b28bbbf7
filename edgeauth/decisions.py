"""Decision events: a bounded, non-blocking buffer between verification and a `DecisionSink`.

The hot path only appends a tuple to a bounded deque (no model is built, no lock taken, no I/O); a drain thread
turns tuples into `DecisionEvent`s and hands batches to the sink. A full buffer drops the event and counts it;
a failing sink is counted too. Neither ever slows or fails a verification.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from prometheus_client import Counter

from edgeauth.background import BackgroundLoop
from edgeauth.models import DecisionAction, DecisionEvent, DecisionOutcome

log = logging.getLogger(__name__)

DECISIONS = Counter("edgeauth_decisions", "Authentication decisions handed to the sink", ["outcome", "reason"])
DROPPED = Counter("edgeauth_decision_events_dropped", "Decision events dropped", ["cause"])

# (time, outcome, reason, action, subject, client_id, scopes, jti, kid, alg, source_ip, method, path,
#  latency_us, request_id)
Record = tuple[
    float,
    DecisionOutcome,
    str,
    DecisionAction,
    str | None,
    str | None,
    tuple[str, ...],
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    int,
    str | None,
]


class DecisionSink(Protocol):
    def emit(self, events: Sequence[DecisionEvent]) -> None: ...


class DecisionBuffer:
    """Bounded queue of decisions; `start()` runs the drain thread, `flush()` drains synchronously."""

    def __init__(
        self, sink: DecisionSink | None, *, capacity: int = 10_000, batch_size: int = 500, interval: float = 0.2
    ) -> None:
        self._sink = sink
        self._capacity = capacity
        self._batch_size = batch_size
        self._interval = interval
        self._queue: deque[Record | DecisionEvent] = deque()
        self._loop = BackgroundLoop("edgeauth-decisions", self._drain, first_delay=interval)
        self._drain_lock = threading.Lock()
        self.dropped = 0
        self.sink_failures = 0

    def submit(self, event: DecisionEvent) -> None:
        """Queue a ready-made event (the issuer's token, revoke, introspect and client-auth decisions)."""
        self.record(event)

    def record(self, record: Record | DecisionEvent) -> None:
        # len() then append is racy by a few entries under contention; the bound is soft by design.
        if len(self._queue) >= self._capacity:
            self.dropped += 1
            DROPPED.labels("buffer_full").inc()
            return
        self._queue.append(record)

    def __len__(self) -> int:
        return len(self._queue)

    def flush(self) -> int:
        """Hand every pending event to the sink now; returns how many were taken off the buffer."""
        taken = 0
        with self._drain_lock:
            while self._queue:
                batch: list[DecisionEvent] = []
                while self._queue and len(batch) < self._batch_size:
                    batch.append(_event(self._queue.popleft()))
                taken += len(batch)
                for event in batch:
                    DECISIONS.labels(event.outcome, event.reason).inc()
                if self._sink is None:
                    continue
                try:
                    self._sink.emit(batch)
                except Exception:  # a broken sink must never reach the verifier
                    self.sink_failures += 1
                    DROPPED.labels("sink_error").inc(len(batch))
                    log.exception("decision sink failed; %d events dropped", len(batch))
        return taken

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        self.flush()

    def _drain(self) -> float:
        self.flush()
        return self._interval


def _event(r: Record | DecisionEvent) -> DecisionEvent:
    if isinstance(r, DecisionEvent):
        return r
    return DecisionEvent(
        timestamp=datetime.fromtimestamp(r[0], UTC),
        outcome=r[1],
        reason=r[2],
        action=r[3],
        subject=r[4],
        client_id=r[5],
        scopes=r[6],
        jti=r[7],
        kid=r[8],
        alg=r[9],
        source_ip=r[10],
        method=r[11],
        path=r[12],
        latency_us=r[13],
        request_id=r[14],
    )


class CollectingSink:
    """A sink keeping events in memory (for tests and the standalone edge without a SIEM)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.events: deque[DecisionEvent] = deque(maxlen=limit)

    def emit(self, events: Sequence[DecisionEvent]) -> None:
        self.events.extend(events)
