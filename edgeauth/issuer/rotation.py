"""Scheduled signing-key rotation: the function a beat scheduler calls every few minutes.

It rotates only when the active key is older than the configured interval (the key store itself refuses to
promote a successor that was not published long enough), and otherwise removes retired keys whose tokens have
all expired. Calling it often is cheap and safe; concurrent callers are serialised by the key store's lock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from edgeauth.errors import KeyStoreError
from edgeauth.keystore import KeyStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RotationOutcome:
    rotated: bool
    active_kid: str
    removed: tuple[str, ...] = ()
    detail: str = ""


def rotate_if_due(store: KeyStore, *, interval: float, now: float | None = None) -> RotationOutcome:
    """Rotate when the active key has signed for `interval` seconds; otherwise prune expired retirees."""
    moment = time.time() if now is None else now
    store.ensure()
    active = next(k for k in store.inventory() if k.state == "active")
    activated = active.activated_at or active.created_at
    age = moment - activated.timestamp()
    if age < interval:
        removed = tuple(store.prune())
        return RotationOutcome(False, active.kid, removed, f"active key is {age:.0f}s old; rotation at {interval:.0f}s")
    try:
        promoted = store.rotate("scheduled", scheduled=True)
    except KeyStoreError as exc:
        # The successor is not yet published long enough: the next run will rotate.
        log.warning("scheduled rotation postponed: %s", exc)
        return RotationOutcome(False, active.kid, (), str(exc))
    log.info("rotated signing key %s -> %s", active.kid, promoted.kid)
    return RotationOutcome(True, promoted.kid, (), f"retired {active.kid}")
