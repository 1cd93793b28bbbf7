"""The Celery application: created here, the composition root; each package registers its tasks through a hook.

To add a package's tasks (and beat entries), write a `_<package>(app, settings)` function that calls the
package's `register_tasks(...)` hook with clients built from the settings, and append it to `REGISTRATIONS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Celery
from celery.signals import setup_logging

from compliance.tasks import register_tasks as register_compliance_tasks
from detections import register_tasks as register_detections_tasks
from edgeauth import KeyStore
from edgeauth import issuer as edgeauth_issuer
from siem import Pipeline
from siem import tasks as siem_tasks
from vigil.audit import process_audit
from vigil.beat import BeatLock, locked_scheduler
from vigil.canary.runner import register_tasks as register_canary_tasks
from vigil.clients import broker_url, elasticsearch_client, redis_client
from vigil.compliance_runtime import build_compliance
from vigil.detections_runtime import build_detections
from vigil.observability import configure_logging
from vigil.settings import VigilSettings


def _siem(app: Celery, settings: VigilSettings) -> None:
    siem_tasks.register_tasks(
        app,
        lambda: Pipeline(elasticsearch_client(settings), redis_client(settings), settings.siem),
        audit=process_audit(settings),
    )


def _edgeauth(app: Celery, settings: VigilSettings) -> None:
    audit = process_audit(settings)
    edgeauth_issuer.register_tasks(
        app,
        lambda: KeyStore(redis_client(settings), settings.edgeauth, audit=audit()),
        interval=settings.edgeauth.oauth.key_rotation_interval,
    )


def _detections(app: Celery, settings: VigilSettings) -> None:
    audit = process_audit(settings)
    register_detections_tasks(app, lambda: build_detections(settings, audit()), every=settings.detections.tick_seconds)


def _compliance(app: Celery, settings: VigilSettings) -> None:
    audit = process_audit(settings)
    register_compliance_tasks(
        app,
        lambda: build_compliance(settings, audit()),
        every=settings.compliance.thresholds.collection_interval_seconds,
    )


# Every task but the detection cycle (which has its own queue, `detections.tasks.CYCLE_QUEUE`).
DEFAULT_QUEUE = "celery"

Registration = Callable[[Celery, VigilSettings], None]
REGISTRATIONS: list[Registration] = [_siem, _edgeauth, _detections, _compliance, register_canary_tasks]


def json_worker_logs(loglevel: int | str | None = None, **_: object) -> None:
    """The worker's own logs (Celery's, the tasks') as one JSON object per line, like every Vigil process."""
    configure_logging(logging.getLevelName(loglevel) if isinstance(loglevel, int) else loglevel or "INFO")


def create_celery(settings: VigilSettings) -> Celery:
    """One Celery app over the Redis broker; keys live under the namespace so test namespaces stay apart."""
    # A receiver of `setup_logging` replaces Celery's own logging set-up (plain-text handlers) entirely.
    setup_logging.connect(json_worker_logs, weak=False, dispatch_uid="vigil-json-worker-logs")
    broker, transport = broker_url(settings)
    app = Celery("vigil", broker=broker)
    app.conf.update(
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={**transport, "global_keyprefix": f"{settings.namespace}:celery:"},
        worker_hijack_root_logger=False,
        task_default_queue=DEFAULT_QUEUE,
        beat_schedule={},
        # Only the beat holding the lease schedules; any number may run (one per worker, or `vigil beat`).
        beat_scheduler=locked_scheduler(BeatLock(lambda: redis_client(settings), f"{settings.namespace}:beat:lock")),
    )
    for register in REGISTRATIONS:
        register(app, settings)
    return app
