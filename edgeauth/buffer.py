"""A bounded, non-blocking, counted buffer between a request path and a slower sink.

`DecisionBuffer` (decisions.py, the edge's hot path) and `AuditBuffer` (audit.py) are this one buffer with their
own delivery and failure policy. `put` only appends to a deque (no lock, no I/O, never raises); a full buffer
hands the item to `_overflow` to be counted instead. A drain thread (`start()`) or `flush()` takes batches off the
front and `_deliver`s them; a batch the sink refuses goes to `_refused`, and is put back at the front (as much
as fits, the rest overflows with cause `sink_error`) when the buffer `keeps_refused`, else dropped.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import deque
from typing import ClassVar, Generic, TypeVar

from edgeauth.background import BackgroundLoop

T = TypeVar("T")


class BoundedBuffer(ABC, Generic[T]):
    #: Put a refused batch back and stop this flush (True), or drop it and go on with the next batch (False).
    keeps_refused: ClassVar[bool]

    def __init__(self, thread_name: str, *, capacity: int, batch_size: int, interval: float) -> None:
        self._capacity = capacity
        self._batch_size = batch_size
        self._interval = interval
        self._queue: deque[T] = deque()
        self._loop = BackgroundLoop(thread_name, self._drain, first_delay=interval)
        self._drain_lock = threading.Lock()
        self.sink_failures = 0

    def put(self, item: T) -> None:
        # len() then append is racy by a few entries under contention; the bound is soft by design.
        if len(self._queue) >= self._capacity:
            self._overflow(1, "buffer_full")
            return
        self._queue.append(item)

    def __len__(self) -> int:
        return len(self._queue)

    def flush(self) -> int:
        """Hand every pending item to the sink now; returns how many were taken off the buffer for good."""
        taken = 0
        with self._drain_lock:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
                try:
                    self._deliver(batch)
                except Exception as exc:  # the sink's failure must never reach the request being recorded
                    self.sink_failures += 1
                    self._refused(batch, exc)
                    if self.keeps_refused:
                        room = max(0, self._capacity - len(self._queue))
                        self._queue.extendleft(reversed(batch[:room]))
                        if len(batch) > room:
                            self._overflow(len(batch) - room, "sink_error")
                        break
                taken += len(batch)
        return taken

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        """Stop the drain thread and flush once more."""
        self._loop.stop()
        self.flush()

    def _drain(self) -> float:
        self.flush()
        return self._interval

    @abstractmethod
    def _deliver(self, batch: list[T]) -> None:
        """Hand `batch` to the sink; raising means the sink refused it."""

    @abstractmethod
    def _refused(self, batch: list[T], exc: Exception) -> None:
        """Count and log a refused batch (before it is put back or dropped)."""

    @abstractmethod
    def _overflow(self, count: int, cause: str) -> None:
        """Count `count` items that found no room (`buffer_full`, or `sink_error` for a refused batch's surplus)."""
