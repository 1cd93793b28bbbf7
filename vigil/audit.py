"""The audit wiring: every package's `AuditSink` is one bounded buffer in front of siem's `audit` dataset.

Packages only know edgeauth's `AuditSink` Protocol; this is the one place that connects it to siem, so a key
rotation, a rule change or a download reaches the same Redis Stream, workers and deterministic ids as any log.
Three lifetimes: the app starts one buffer and closes it at shutdown; each Celery worker process starts its own
on first use (threads do not survive the prefork); a CLI command closes its buffer before exiting and says so on
stderr when an event could not be handed over (the change itself is kept in its own store either way).
"""

from __future__ import annotations

import atexit
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

from edgeauth import AuditBuffer
from siem import AuditRecordSink, Pipeline
from vigil.clients import elasticsearch_client, redis_client
from vigil.settings import VigilSettings


def actor_name(given: str | None) -> str:
    """Who makes a change from the command line: `--actor`, else `cli:<login name>`."""
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def audit_buffer(settings: VigilSettings, pipeline: Pipeline | None = None) -> AuditBuffer:
    """A buffer to `start()` in a long-lived process, or to `close()` at the end of a CLI command."""
    sink_pipeline = pipeline or Pipeline(elasticsearch_client(settings), redis_client(settings), settings.siem)
    return AuditBuffer(AuditRecordSink(sink_pipeline), capacity=settings.edgeauth.decision_buffer_size)


def process_audit(settings: VigilSettings) -> Callable[[], AuditBuffer]:
    """This process's started buffer for Celery tasks, made on first call: after the worker forked."""

    @cache
    def started() -> AuditBuffer:
        buffer = audit_buffer(settings)
        buffer.start()
        atexit.register(buffer.close)
        return buffer

    return started


@contextmanager
def command_audit(settings: VigilSettings) -> Iterator[AuditBuffer]:
    """The audit sink of one CLI command: flushed when the command ends, a loss reported on stderr."""
    buffer = audit_buffer(settings)
    try:
        yield buffer
    finally:
        lost = buffer.close()
        if lost:
            print(f"vigil: {lost} audit event(s) could not reach the SIEM (kept in their own store)", file=sys.stderr)
