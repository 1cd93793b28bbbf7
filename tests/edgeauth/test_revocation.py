"""Revocations through the real Redis: publisher, replica, cold start, gaps, staleness and the lag metric."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from prometheus_client import REGISTRY
from pydantic import SecretStr

from edgeauth import (
    EdgeAuthSettings,
    RequestContext,
    RevocationError,
    RoutePolicy,
    SigningKey,
    VerificationError,
    mint_access_token,
)
from edgeauth.edge import EdgeRuntime
from edgeauth.keystore import KeyStore
from edgeauth.revocation import RevocationPublisher, RevocationReplica

pytestmark = pytest.mark.integration


def _settings(prefix: str, **kw: Any) -> EdgeAuthSettings:
    return EdgeAuthSettings(
        namespace=prefix,
        key_encryption_key=SecretStr("kek"),
        revocation_block_ms=100,
        max_staleness=5,
        jwks_refresh_interval=1,
        **kw,
    )


def test_replica_follows_the_stream(redis_conn: redis.Redis, redis_namespace: str) -> None:
    settings = _settings(redis_namespace)
    publisher = RevocationPublisher(redis_conn, settings)
    replica = RevocationReplica(redis_conn, settings)
    replica.load_snapshot()
    assert not replica.is_revoked("a")
    assert publisher.revoke("a", time.time() + 600) == 1
    assert publisher.revoke("b", time.time() + 600) == 2
    assert replica.poll(100) == 2
    assert replica.is_revoked("a")
    assert replica.is_revoked("b")
    assert replica.sequence == 2
    assert replica.staleness() < 5


def test_cold_start_reads_the_snapshot_without_expired_entries(redis_conn: redis.Redis, redis_namespace: str) -> None:
    settings = _settings(redis_namespace, leeway=0)
    publisher = RevocationPublisher(redis_conn, settings)
    publisher.revoke("live", time.time() + 600)
    publisher.revoke("dead", time.time() - 1)
    replica = RevocationReplica(redis_conn, settings)
    assert replica.staleness() == float("inf")
    replica.load_snapshot()
    assert replica.is_revoked("live")
    assert not replica.is_revoked("dead")
    assert replica.sequence == 2
    assert replica.poll(0) == 0  # nothing past the snapshot position


def test_a_sequence_gap_reloads_the_snapshot(redis_conn: redis.Redis, redis_namespace: str) -> None:
    settings = _settings(redis_namespace)
    publisher = RevocationPublisher(redis_conn, settings)
    replica = RevocationReplica(redis_conn, settings)
    replica.load_snapshot()
    publisher.revoke("x", time.time() + 600)
    publisher.revoke("y", time.time() + 600)
    # The stream is trimmed past the replica's position: only the snapshot still knows about "x".
    redis_conn.xtrim(f"{redis_namespace}:edgeauth:revocations:stream", maxlen=1)
    replica.poll(100)
    assert replica.is_revoked("x")
    assert replica.is_revoked("y")
    assert replica.sequence == 2


def test_lag_is_observed(redis_conn: redis.Redis, redis_namespace: str) -> None:
    settings = _settings(redis_namespace)
    before = REGISTRY.get_sample_value("edgeauth_revocation_lag_seconds_count") or 0.0
    replica = RevocationReplica(redis_conn, settings)
    replica.load_snapshot()
    RevocationPublisher(redis_conn, settings).revoke("lagged", time.time() + 600)
    replica.poll(100)
    assert REGISTRY.get_sample_value("edgeauth_revocation_lag_seconds_count") == before + 1


def test_unreachable_redis_is_a_revocation_error_and_grows_staleness(redis_namespace: str) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    with pytest.raises(RevocationError):
        RevocationPublisher(dead, _settings(redis_namespace)).revoke("a", time.time() + 60)
    replica = RevocationReplica(dead, _settings(redis_namespace))
    with pytest.raises(RevocationError):
        replica.load_snapshot()
    assert replica.staleness() == float("inf")


def test_running_edge_refuses_a_revoked_token(redis_conn: redis.Redis, redis_namespace: str) -> None:
    settings = _settings(redis_namespace)
    store = KeyStore(redis_conn, settings)
    key = store.active_signing_key()
    runtime = EdgeRuntime(settings, redis_conn)
    runtime.start()
    try:
        token = mint_access_token(
            key, issuer=settings.issuer, subject="s", audience="vigil", client_id="c", scopes=["a"], ttl=600, jti="r1"
        )
        assert runtime.verifier.verify(token, ["a"]).token_id == "r1"  # now cached
        RevocationPublisher(redis_conn, settings).revoke("r1", time.time() + 600)
        deadline = time.monotonic() + 10
        refused = None
        while refused is None and time.monotonic() < deadline:
            try:
                runtime.verifier.verify(token, ["a"])
                time.sleep(0.01)
            except VerificationError as exc:
                refused = exc.reason
        assert refused == "revoked"
    finally:
        runtime.stop()


def test_edge_without_redis_fails_closed_and_open_where_configured(redis_namespace: str) -> None:
    settings = _settings(redis_namespace, route_policies=[RoutePolicy(path_prefix="/status", fail="open")])
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    runtime = EdgeRuntime(settings, dead)
    key = SigningKey.generate()
    runtime.keys.replace({"keys": [key.public_jwk()]})  # keys are fresh; revocations were never loaded
    token = mint_access_token(
        key, issuer=settings.issuer, subject="s", audience="vigil", client_id="c", scopes=[], ttl=600
    )
    with pytest.raises(VerificationError) as info:
        runtime.verifier.verify(token, context=RequestContext(path="/api"))
    assert info.value.reason == "stale"
    assert runtime.verifier.verify(token, context=RequestContext(path="/status/x")).subject == "s"


def test_running_edge_reports_its_staleness_gauge(redis_conn: redis.Redis, redis_namespace: str) -> None:
    runtime = EdgeRuntime(_settings(redis_namespace), redis_conn)
    runtime.start()
    try:
        value = REGISTRY.get_sample_value("edgeauth_state_staleness_seconds")
        assert value is not None
        assert 0 <= value < 5
    finally:
        runtime.stop()
