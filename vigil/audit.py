"""The audit wiring: every package's `AuditSink` is one bounded buffer in front of siem's `audit` dataset.

Packages only know edgeauth's `AuditSink` Protocol; this is the one place that connects it to siem, so a key
rotation, a rule change or a download reaches the same Redis Stream, workers and deterministic ids as any log.
"""

from __future__ import annotations

from edgeauth import AuditBuffer
from siem import AuditRecordSink, Pipeline
from vigil.clients import elasticsearch_client, redis_client
from vigil.settings import VigilSettings


def audit_buffer(settings: VigilSettings, pipeline: Pipeline | None = None) -> AuditBuffer:
    """A buffer to `start()` in a long-lived process, or to `close()` at the end of a CLI command."""
    sink_pipeline = pipeline or Pipeline(elasticsearch_client(settings), redis_client(settings), settings.siem)
    return AuditBuffer(AuditRecordSink(sink_pipeline), capacity=settings.edgeauth.decision_buffer_size)
