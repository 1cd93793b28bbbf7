"""Key changes pushed like revocations: a withdrawal or an emergency rotation rides the revocation stream, and every
verifier refetches its JWKS at once instead of at its next scheduled refresh."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import redis
from pydantic import SecretStr

from edgeauth import EdgeAuthSettings, KeyStoreError, VerificationError, mint_access_token
from edgeauth.edge import EdgeRuntime
from edgeauth.keystore import KeyStore
from edgeauth.revocation import RevocationPublisher, RevocationReplica
from tests.vigil.running import KEK, RunningVigil

pytestmark = pytest.mark.integration


def _settings(namespace: str, **kw: Any) -> EdgeAuthSettings:
    return EdgeAuthSettings(namespace=namespace, key_encryption_key=SecretStr(KEK), revocation_block_ms=100, **kw)


def _token(store: KeyStore, settings: EdgeAuthSettings, jti: str) -> str:
    return mint_access_token(
        store.active_signing_key(),
        issuer=settings.issuer,
        subject="s",
        audience="vigil",
        client_id="c",
        scopes=["alerts:read"],
        ttl=600,
        jti=jti,
    )


def test_withdrawing_keys(redis_conn: redis.Redis, redis_namespace: str) -> None:
    settings = _settings(redis_namespace)
    store = KeyStore(redis_conn, settings)
    compromised = store.active_signing_key().kid
    successor = next(k.kid for k in store.inventory() if k.state == "next")
    withdrawn = store.withdraw(compromised, "private key leaked")
    assert withdrawn.state == "removed"
    published = {k["kid"] for k in store.publishable_jwks()["keys"]}
    assert compromised not in published
    # The signing key was withdrawn: its published successor signs now, and a new successor is published.
    assert store.active_signing_key().kid == successor
    assert len(published) == 2  # the new active key and its successor; the withdrawn one is not even retired
    record = json.loads(cast(bytes, redis_conn.hget(f"{settings.key_prefix}:keys", compromised)))
    assert "private" not in record
    # Withdrawing the published successor publishes another one.
    nxt = next(k.kid for k in store.inventory() if k.state == "next")
    store.withdraw(nxt, "generated on a suspect host")
    assert sum(k.state == "next" for k in store.inventory()) == 1
    assert any(r.reason == "withdrawn: private key leaked" and r.kid == compromised for r in store.history())
    with pytest.raises(KeyStoreError, match="no published key"):
        store.withdraw(compromised, "twice")


def test_key_changes_ride_the_revocation_stream(redis_conn: redis.Redis, redis_namespace: str) -> None:
    settings = _settings(redis_namespace)
    store = KeyStore(redis_conn, settings)
    store.ensure()
    pushed: list[float] = []
    replica = RevocationReplica(redis_conn, settings, on_keys_changed=lambda: pushed.append(time.time()))
    replica.load_snapshot()
    store.withdraw(store.active_signing_key().kid, "test")
    assert replica.poll(100) >= 2  # the withdrawal, the promotion and the new successor: each is news
    assert pushed
    assert len(replica) == 0  # nothing was revoked by a key change
    # A revocation after key changes still lands in order.
    RevocationPublisher(redis_conn, settings).revoke("after-keys", time.time() + 600)
    replica.poll(100)
    assert replica.is_revoked("after-keys")
    # A gap (the stream trimmed past the replica) may have swallowed a key change: it refetches keys too.
    count = len(pushed)
    store.rotate("scheduled", force=True)
    RevocationPublisher(redis_conn, settings).revoke("gap", time.time() + 600)
    redis_conn.xtrim(f"{settings.key_prefix}:revocations:stream", maxlen=1)
    replica.poll(100)
    assert len(pushed) > count
    assert replica.is_revoked("gap")


def test_a_running_edge_refuses_a_withdrawn_keys_cached_token(redis_conn: redis.Redis, redis_namespace: str) -> None:
    settings = _settings(redis_namespace, jwks_refresh_interval=120)
    store = KeyStore(redis_conn, settings)
    token = _token(store, settings, "pushed-1")
    runtime = EdgeRuntime(settings, redis_conn)
    runtime.start()
    try:
        assert runtime.verifier.verify(token).token_id == "pushed-1"  # verified and cached
        store.withdraw(store.active_signing_key().kid, "compromise drill")
        deadline = time.monotonic() + 10
        reason = None
        while reason is None and time.monotonic() < deadline:
            try:
                runtime.verifier.verify(token)
                time.sleep(0.005)
            except VerificationError as exc:
                reason = exc.reason
        assert reason == "unknown_kid"
    finally:
        runtime.stop()


def test_a_withdrawn_key_is_refused_at_a_second_edge_process_within_a_second(
    redis_conn: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    """`vigil edge serve` in its own process, JWKS refresh every 120 s: only the push can make it this fast."""
    settings = _settings(namespace)
    store = KeyStore(redis_conn, settings)
    token = _token(store, settings, "pushed-2")
    run = RunningVigil(namespace, tmp_path)
    try:
        edge = run.start_edge(VIGIL_EDGEAUTH__JWKS_REFRESH_INTERVAL="120")
        headers = {"Authorization": f"Bearer {token}", "X-Original-Method": "GET", "X-Original-URI": "/api/a"}
        with httpx.Client(base_url=edge) as http:
            assert http.get("/verify", headers=headers).status_code == 200
            store.withdraw(store.active_signing_key().kid, "compromise drill")
            withdrawn_at = time.monotonic()
            status = 200
            while status == 200 and time.monotonic() - withdrawn_at < 10:
                status = http.get("/verify", headers=headers).status_code
            elapsed = time.monotonic() - withdrawn_at
        assert status == 401
        assert elapsed < 1.0, f"refused after {elapsed:.2f} s"
    finally:
        run.stop()
        leftovers = list(redis_conn.scan_iter(match=f"{namespace}*", count=1000))
        if leftovers:
            redis_conn.delete(*leftovers)


def test_an_emergency_rotation_is_trusted_at_once(redis_conn: redis.Redis, redis_namespace: str) -> None:
    """Two forced rotations in a row: the signing key is one the edge has never fetched, and neither the scheduled
    refresh (120 s) nor an unknown-kid fetch (at most one per 60 s, one was made at start) can bring it in time."""
    settings = _settings(redis_namespace, jwks_refresh_interval=120, jwks_min_fetch_interval=60)
    store = KeyStore(redis_conn, settings)
    store.ensure()
    runtime = EdgeRuntime(settings, redis_conn)
    runtime.start()
    try:
        store.rotate("compromise", force=True)
        store.rotate("compromise", force=True)
        token = _token(store, settings, "fresh-key")
        deadline = time.monotonic() + 10
        while not runtime.keys.has(store.active_signing_key().kid) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert runtime.verifier.verify(token).token_id == "fresh-key"
    finally:
        runtime.stop()
