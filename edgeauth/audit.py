"""Audit events: the ground floor's protocol for every state change an auditor may ask about.

Producers in every package (edgeauth's key store and client registry, siem's retention, evidence downloads,
detections' rule and triage changes, compliance status, console sign-ins) describe a change as an `AuditEvent`
and hand it to an `AuditSink`; `vigil` wires the sink to siem's `audit` dataset, so Sigma rules can see the
changes. The record each package already keeps (Redis streams, indices, the evidence locker) stays where it is:
this is its copy for detection, never a replacement.

`AuditBuffer` is the sink producers get on a request path: `emit` only appends to a bounded deque (no I/O, never
raises, never blocks); a drain thread or `flush()` hands batches to the real sink. A batch the sink refuses is
put back and retried; an event that finds no room is dropped and counted (`lost`, and the
`edgeauth_audit_events_lost` metric), so an audit event never disappears silently.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Annotated, Literal, Protocol

from prometheus_client import Counter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, IPvAnyAddress

from edgeauth.buffer import BoundedBuffer

log = logging.getLogger(__name__)

AUDIT_EVENTS = Counter("edgeauth_audit_events", "Audit events handed to the audit sink", ["provider"])
AUDIT_LOST = Counter("edgeauth_audit_events_lost", "Audit events that never reached the audit sink", ["cause"])

#: ECS `event.category`: changes (`configuration`, `iam`, `file`) and people signing in and out (`authentication`,
#: `session`, see `edgeauth.people.events`).
AuditCategory = Literal["configuration", "iam", "file", "authentication", "session"]
#: ECS `event.type` values an audit event may carry (`start` / `end`: a sign-in, a sign-out or revoked session).
AuditType = Literal["change", "creation", "deletion", "access", "denied", "info", "start", "end"]
#: What set the change off: a person or a client acting (`operator`), the beat schedule, or a policy (retention).
AuditTrigger = Literal["operator", "schedule", "policy"]
AuditValue = str | int | float | bool | None | list[str]

Action = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
Name = Annotated[str, Field(min_length=1, max_length=256)]


class AuditEvent(BaseModel):
    """One audited change: who (`actor`, `client_id`), what (`action` on `target`), how it looked before/after."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timestamp: AwareDatetime
    provider: Name = Field(description="The package that made the change (ECS `event.provider`).")
    action: Action = Field(description="What happened, e.g. `key-rotated`, `rule-disabled` (ECS `event.action`).")
    category: AuditCategory
    type: AuditType = "change"
    outcome: Literal["success", "failure"] = "success"
    actor: Name | None = Field(default=None, description="The person or token subject who acted (`user.name`).")
    client_id: Name | None = Field(default=None, description="The OAuth client the actor used (`client.id`).")
    target: Name = Field(description="`<kind>:<id>` of what changed: `key:<kid>`, `client:<id>`, `rule:<id>`...")
    reason: str | None = Field(default=None, max_length=1024)
    source_ip: IPvAnyAddress | None = Field(default=None, description="Where the actor came from (`source.ip`).")
    trigger: AuditTrigger = "operator"
    before: dict[str, AuditValue] | None = None
    after: dict[str, AuditValue] | None = None

    @property
    def id(self) -> str:
        """Deterministic: the same change handed over twice (a retried flush, a replay) is one document."""
        return hashlib.blake2b(self.model_dump_json().encode(), digest_size=16).hexdigest()

    def _listed(self, side: dict[str, AuditValue] | None) -> set[str]:
        return {item for value in (side or {}).values() if isinstance(value, list) for item in value}

    @property
    def added(self) -> list[str]:
        """Members of list attributes (scopes, audiences) present after and not before: what the change granted."""
        return sorted(self._listed(self.after) - self._listed(self.before))

    @property
    def removed(self) -> list[str]:
        return sorted(self._listed(self.before) - self._listed(self.after))


class AuditSink(Protocol):
    """Where audit events go. `emit` must neither raise nor block: wrap a sink that can in an `AuditBuffer`."""

    def emit(self, events: Sequence[AuditEvent]) -> None: ...


class AuditBuffer(BoundedBuffer[AuditEvent]):
    """A bounded, non-blocking `AuditSink` in front of a slower one; `start()` drains it on a thread.

    A batch the sink refuses stays queued for the next flush (as much as fits; the rest is lost and counted).
    """

    keeps_refused = True

    def __init__(
        self, sink: AuditSink, *, capacity: int = 10_000, batch_size: int = 500, interval: float = 0.2
    ) -> None:
        super().__init__("edgeauth-audit", capacity=capacity, batch_size=batch_size, interval=interval)
        self._sink = sink
        self.lost = 0

    def emit(self, events: Sequence[AuditEvent]) -> None:
        for event in events:
            AUDIT_EVENTS.labels(event.provider).inc()
            self.put(event)

    def close(self) -> int:
        """Stop draining, flush once more, and drop (counting them) whatever the sink still refuses.

        Returns how many events were lost over this buffer's life, so a short-lived process (the CLI) can say so.
        """
        self.stop()
        if self._queue:
            self._overflow(len(self._queue), "unflushed_at_close")
            self._queue.clear()
        return self.lost

    def _deliver(self, batch: list[AuditEvent]) -> None:
        self._sink.emit(batch)

    def _refused(self, batch: list[AuditEvent], exc: Exception) -> None:
        log.exception("audit sink failed; %d events kept for the next flush", len(batch), exc_info=exc)

    def _overflow(self, count: int, cause: str) -> None:
        self.lost += count
        AUDIT_LOST.labels(cause).inc(count)
        log.error("%d audit events lost (%s)", count, cause)


class CollectingAuditSink:
    """Keeps audit events in memory (tests, and a standalone edge without a SIEM)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.events: deque[AuditEvent] = deque(maxlen=limit)

    def emit(self, events: Sequence[AuditEvent]) -> None:
        self.events.extend(events)
