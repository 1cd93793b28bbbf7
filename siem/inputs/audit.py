"""Audit events into the pipeline: siem's implementation of edgeauth's `AuditSink` Protocol."""

from __future__ import annotations

from collections.abc import Sequence

from edgeauth import AuditEvent
from siem.pipeline import Pipeline


class AuditRecordSink:
    """Queues audit events as `audit` records, each under its deterministic id (a retried batch is one document).

    `push` raises above the high-water mark or when Redis is down: wrap this sink in edgeauth's `AuditBuffer`,
    which keeps the batch for the next flush and counts what it finally cannot hand over.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def emit(self, events: Sequence[AuditEvent]) -> None:
        if events:
            self.pipeline.push(
                "audit", [e.model_dump_json() for e in events], source="vigil-audit", ids=[e.id for e in events]
            )
