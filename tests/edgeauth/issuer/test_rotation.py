"""Scheduled key rotation on the real key store: due or not, and tokens of the old key keep verifying."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
import redis
from celery import Celery
from fastapi import FastAPI
from fastapi.testclient import TestClient

from edgeauth import JwksCache, KeyStore, RevocationPublisher, Verifier
from edgeauth.issuer import Issuer, create_issuer_router, register_tasks
from edgeauth.issuer.rotation import rotate_if_due
from edgeauth.issuer.tasks import ROTATE_TASK
from tests.edgeauth.issuer.conftest import basic, make_settings

pytestmark = pytest.mark.integration


@dataclass
class _Clock:
    now: float

    def __call__(self) -> float:
        return self.now


def test_rotation_happens_only_when_due_and_old_tokens_still_verify(
    redis_conn: redis.Redis, redis_namespace: str
) -> None:
    settings = make_settings(redis_namespace)
    clock = _Clock(time.time())
    store = KeyStore(redis_conn, settings, clock=clock)
    issuer = Issuer(settings, redis_conn, store, RevocationPublisher(redis_conn, settings))
    app = FastAPI()
    app.include_router(create_issuer_router(issuer))
    http = TestClient(app)
    secret = issuer.registry.create("c", actor="t", role="ingest", audiences=["vigil"]).client_secret
    assert secret is not None

    def token() -> str:
        response = http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic("c", secret.get_secret_value())
        )
        return str(response.json()["access_token"])

    old_token = token()
    first = rotate_if_due(store, interval=3600, now=clock.now)
    assert not first.rotated
    old_kid = first.active_kid

    clock.now += 3601
    second = rotate_if_due(store, interval=3600, now=clock.now)
    assert second.rotated
    assert second.active_kid != old_kid
    new_token = token()
    verifier = Verifier(settings, JwksCache(settings, source=issuer.jwks))
    # The retired key stays published until every token it signed has expired.
    published = {k["kid"] for k in issuer.jwks()["keys"]}
    assert old_kid in published
    assert second.active_kid in published
    assert verifier.verify(new_token).client_id == "c"
    assert [(r.kid, r.to_state) for r in store.history() if r.kid == old_kid][-1] == (old_kid, "retired")
    assert verifier.verify(old_token).client_id == "c"

    # Long after, the retired key is pruned by a later run and leaves the JWKS.
    clock.now += settings.access_token_ttl + settings.leeway + 1
    third = rotate_if_due(store, interval=10 * 86400, now=clock.now)
    assert not third.rotated
    assert old_kid in third.removed
    assert old_kid not in {k["kid"] for k in issuer.jwks()["keys"]}


def test_rotation_waits_for_the_successor_to_be_published(redis_conn: redis.Redis, redis_namespace: str) -> None:
    settings = make_settings(redis_namespace).model_copy(update={"key_publish_lead": 300.0})
    clock = _Clock(time.time())
    store = KeyStore(redis_conn, settings, clock=clock)
    store.ensure()
    outcome = rotate_if_due(store, interval=60, now=clock.now + 120)
    assert not outcome.rotated
    assert "key_publish_lead" in outcome.detail


def test_celery_registration_schedules_and_runs_the_driver(redis_conn: redis.Redis, redis_namespace: str) -> None:
    settings = make_settings(redis_namespace)
    app = Celery("test", broker="memory://")
    app.conf.beat_schedule = {"other": {"task": "other", "schedule": 60.0}}
    register_tasks(app, lambda: KeyStore(redis_conn, settings), interval=3600, every=120.0)
    assert app.conf.beat_schedule[ROTATE_TASK] == {"task": ROTATE_TASK, "schedule": 120.0}
    assert "other" in app.conf.beat_schedule
    result = app.tasks[ROTATE_TASK]()
    assert result["rotated"] is False
    assert result["active_kid"] == next(
        k.kid for k in KeyStore(redis_conn, settings).inventory() if k.state == "active"
    )
