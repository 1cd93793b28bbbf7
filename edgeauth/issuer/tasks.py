"""Celery adapter: registers the scheduled key rotation on the composition's Celery app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgeauth.issuer.rotation import rotate_if_due
from edgeauth.keystore import KeyStore

ROTATE_TASK = "edgeauth.rotate_keys"


def register_tasks(
    celery_app: Any, build_store: Callable[[], KeyStore], *, interval: float, every: float = 300.0
) -> None:
    """Add the rotation task and its beat entry; `build_store` makes a key store per run (no import-time clients)."""

    @celery_app.task(name=ROTATE_TASK, shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def rotate_keys() -> dict[str, Any]:
        outcome = rotate_if_due(build_store(), interval=interval)
        return {"rotated": outcome.rotated, "active_kid": outcome.active_kid, "removed": list(outcome.removed)}

    celery_app.conf.beat_schedule = {
        **(celery_app.conf.beat_schedule or {}),
        ROTATE_TASK: {"task": ROTATE_TASK, "schedule": every},
    }
