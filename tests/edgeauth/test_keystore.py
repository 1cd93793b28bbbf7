"""The key store in the real Redis: rotation states, encryption at rest, the rotation log."""

from __future__ import annotations

import base64
import json
import time
from typing import Any, cast

import pytest
import redis
from pydantic import SecretStr

from edgeauth import EdgeAuthSettings, JwksCache, KeyStoreError, Verifier, mint_access_token
from edgeauth.keystore import KeyStore

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _store(redis_conn: redis.Redis, prefix: str, **kw: Any) -> tuple[KeyStore, Clock, EdgeAuthSettings]:
    settings = EdgeAuthSettings(
        namespace=prefix, key_encryption_key=SecretStr("kek-for-tests"), key_publish_lead=60, **kw
    )
    clock = Clock()
    return KeyStore(redis_conn, settings, clock=clock), clock, settings


def test_first_use_makes_an_active_key_and_publishes_its_successor(
    redis_conn: redis.Redis, redis_namespace: str
) -> None:
    store, _, _ = _store(redis_conn, redis_namespace)
    active = store.active_signing_key()
    states = {k.kid: k.state for k in store.inventory()}
    assert states[active.kid] == "active"
    assert sorted(states.values()) == ["active", "next"]
    assert {j["kid"] for j in store.publishable_jwks()["keys"]} == set(states)


def test_private_keys_are_encrypted_at_rest(redis_conn: redis.Redis, redis_namespace: str) -> None:
    store, _, settings = _store(redis_conn, redis_namespace)
    store.ensure()
    raw = cast(dict[bytes, bytes], redis_conn.hgetall(f"{redis_namespace}:edgeauth:keys"))
    for value in raw.values():
        record = json.loads(value)
        sealed = base64.b64decode(record["private"])
        assert sealed.startswith(b"v1")
        assert b"PRIVATE KEY" not in sealed
        assert "d" not in record["public_jwk"]
    wrong = KeyStore(redis_conn, settings.model_copy(update={"key_encryption_key": SecretStr("other")}))
    with pytest.raises(KeyStoreError, match="cannot decrypt"):
        wrong.active_signing_key()


def test_rotation_walks_next_active_retired_removed(redis_conn: redis.Redis, redis_namespace: str) -> None:
    store, clock, settings = _store(redis_conn, redis_namespace, access_token_ttl=600, leeway=30)
    first = store.active_signing_key()
    successor = next(k.kid for k in store.inventory() if k.state == "next")
    with pytest.raises(KeyStoreError, match="key_publish_lead"):
        store.rotate()  # the successor was published just now: verifiers may not have it yet
    clock.now += 61
    promoted = store.rotate()
    assert promoted.kid == successor
    assert store.active_signing_key().kid == successor
    states = {k.kid: k.state for k in store.inventory()}
    assert states[first.kid] == "retired"
    assert first.kid in {j["kid"] for j in store.publishable_jwks()["keys"]}
    # A token the retired key signed just before rotation still verifies against the published set.
    token = mint_access_token(
        first, issuer=settings.issuer, subject="s", audience="vigil", client_id="c", scopes=[], ttl=600
    )
    verifier = Verifier(settings, JwksCache(settings, initial=store.publishable_jwks()))
    assert verifier.verify(token).subject == "s"
    clock.now += 600 + 30 - 1
    assert store.prune() == []
    clock.now += 2
    assert store.prune() == [first.kid]
    assert first.kid not in {j["kid"] for j in store.publishable_jwks()["keys"]}
    removed = json.loads(cast(bytes, redis_conn.hget(f"{redis_namespace}:edgeauth:keys", first.kid)))
    assert removed["state"] == "removed"
    assert "private" not in removed


def test_forced_rotation_skips_the_publish_lead(redis_conn: redis.Redis, redis_namespace: str) -> None:
    store, _, _ = _store(redis_conn, redis_namespace)
    first = store.active_signing_key()
    assert store.rotate("key compromise", force=True).kid != first.kid


def test_every_rotation_is_in_the_history(redis_conn: redis.Redis, redis_namespace: str) -> None:
    store, clock, _ = _store(redis_conn, redis_namespace)
    first = store.active_signing_key()
    clock.now += 61
    second = store.rotate("scheduled")
    history = store.history()
    transitions = [(r.kid, r.from_state, r.to_state, r.reason) for r in history]
    assert (first.kid, None, "active", "initial key") in transitions
    assert (second.kid, "next", "active", "scheduled") in transitions
    assert (first.kid, "active", "retired", "scheduled") in transitions
    assert len([t for t in transitions if t[2] == "next"]) == 2
    assert all(r.timestamp.tzinfo is not None for r in history)


def test_missing_key_encryption_key_is_a_clear_error(redis_conn: redis.Redis, redis_namespace: str) -> None:
    store = KeyStore(redis_conn, EdgeAuthSettings(namespace=redis_namespace))
    with pytest.raises(KeyStoreError, match="KEY_ENCRYPTION_KEY"):
        store.ensure()
