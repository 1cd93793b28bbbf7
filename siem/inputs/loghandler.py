"""A `logging.Handler` for Python apps: errors and exceptions leave as the JSON exception format.

The handler never blocks the app: records go into a bounded buffer that a daemon thread sends in batches to
`POST /ingest/exception` (or any `Sender`); a full buffer or a failed send is counted in `dropped`, never raised.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

Sender = Callable[[Sequence[str]], None]


def exception_record(record: logging.LogRecord, service: str) -> dict[str, Any]:
    """One log record in the JSON exception format (see docs/siem.md)."""
    error: dict[str, Any] = {"type": "LogRecord", "message": record.getMessage()}
    if record.exc_info and record.exc_info[0] is not None:
        exc_type, exc, tb = record.exc_info
        error = {
            "type": f"{exc_type.__module__}.{exc_type.__qualname__}".removeprefix("builtins."),
            "message": str(exc),
            "stack_trace": "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n"),
        }
    return {
        "@timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
        "service": service,
        "level": record.levelname.lower(),
        "logger": record.name,
        "message": record.getMessage(),
        "request_id": getattr(record, "request_id", None),
        "error": error,
    }


def http_sender(client: httpx.Client, token: Callable[[], str], path: str = "/ingest/exception") -> Sender:
    """Send a batch to Vigil's ingest API; `token` returns a current bearer token with `ingest:write`."""

    def send(lines: Sequence[str]) -> None:
        response = client.post(
            path,
            content="\n".join(lines).encode(),
            headers={"Authorization": f"Bearer {token()}", "Content-Type": "application/x-ndjson"},
        )
        response.raise_for_status()

    return send


class VigilHandler(logging.Handler):
    """Ships records at `level` and above (ERROR by default) to Vigil as exception events."""

    def __init__(
        self,
        sender: Sender,
        *,
        service: str,
        level: int = logging.ERROR,
        capacity: int = 10_000,
        batch_size: int = 200,
        interval: float = 1.0,
    ) -> None:
        super().__init__(level)
        self.sender = sender
        self.service = service
        self.capacity = capacity
        self.batch_size = batch_size
        self.interval = interval
        self.dropped = 0
        self._buffer: deque[str] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vigil-log-handler", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = json.dumps(exception_record(record, self.service), default=str)
        except Exception:
            self.handleError(record)
            return
        if len(self._buffer) >= self.capacity:
            self.dropped += 1
            return
        self._buffer.append(line)

    def flush(self) -> None:
        """Send everything buffered now (also called at close)."""
        with self._lock:
            while self._buffer:
                batch = [self._buffer.popleft() for _ in range(min(self.batch_size, len(self._buffer)))]
                try:
                    self.sender(batch)
                except Exception:  # the app must never fail because its log shipping did
                    self.dropped += len(batch)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()
        super().close()
