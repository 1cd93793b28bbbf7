"""Throttling that cannot be turned against a client: failures are limited per (client id, source address) and per
address, never per client id alone; sliding windows; lockouts that double. A burst still raises the alert."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from typing import Any

import pytest
import redis
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from detections import AlertFilter, Detections, DetectionsSettings
from detections.selftest.scratch import remove_prefix
from edgeauth import DecisionBuffer
from edgeauth.issuer.ratelimit import RateLimiter
from edgeauth.settings import IssuerSettings
from siem import Pipeline, SiemSettings
from siem.inputs.decisions import AuthDecisionSink
from tests.edgeauth.issuer.conftest import ISSUER_URL, IssuerHarness, basic, build, make_settings

pytestmark = pytest.mark.integration

STUFFING = "b1abf103-1abb-492e-9cac-5039327a745b"
ATTACKER, FLEET = ("203.0.113.66", 40000), ("198.51.100.20", 40000)


def from_address(harness: IssuerHarness, address: tuple[str, int]) -> TestClient:
    return TestClient(harness.http.app, base_url=ISSUER_URL, client=address)


def grant(http: TestClient, client_id: str, secret: str) -> Any:
    return http.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret))


@pytest.fixture
def throttled(redis_conn: redis.Redis, redis_namespace: str) -> Iterator[IssuerHarness]:
    built = build(
        redis_conn,
        make_settings(
            redis_namespace,
            rate_limit_per_ip=40,
            failures_per_client_address=3,
            failures_per_address=6,
            lockout_base=30,
            lockout_max=120,
        ),
    )
    with built.http:
        yield built


def test_failures_from_one_address_never_refuse_the_right_secret_from_another(throttled: IssuerHarness) -> None:
    secret = throttled.client("victim")
    attacker, fleet = from_address(throttled, ATTACKER), from_address(throttled, FLEET)
    # Today's weapon: a flood of wrong secrets for a known client id.
    assert [grant(attacker, "victim", "wrong").status_code for _ in range(3)] == [401, 401, 401]
    locked = grant(attacker, "victim", secret)
    assert locked.status_code == 429  # that (client, address) pair is locked, even with the right secret
    assert 1 <= int(locked.headers["retry-after"]) <= 30
    for _ in range(20):
        grant(attacker, "victim", "wrong")
    # The client itself, from its own address, is never refused for what someone else did.
    assert [grant(fleet, "victim", secret).status_code for _ in range(5)] == [200] * 5
    # Throttled attempts are decisions too: the SIEM sees the lockout working.
    reasons = [e.reason for e in throttled.events() if e.source_ip == ATTACKER[0]]
    assert reasons.count("invalid_client") == 3
    assert reasons.count("rate_limited") == 21


def test_a_success_clears_its_pair_and_stuffing_locks_only_its_address(throttled: IssuerHarness) -> None:
    secret = throttled.client("typo-prone")
    fleet, attacker = from_address(throttled, FLEET), from_address(throttled, ATTACKER)
    # Two failures, then the right secret (which forgets them), twice over: never three in a row, never locked.
    # (The address's own count is not forgotten, so a stuffer holding one good secret cannot reset it.)
    for _ in range(2):
        assert [grant(fleet, "typo-prone", "typo").status_code for _ in range(2)] == [401, 401]
        assert grant(fleet, "typo-prone", secret).status_code == 200
    # Stuffing: one address failing as six different clients is locked as an address, for every client id...
    assert [grant(attacker, f"guess-{n}", "x").status_code for n in range(6)] == [401] * 6
    assert grant(attacker, "typo-prone", secret).status_code == 429
    # ...and only that address.
    assert grant(fleet, "typo-prone", secret).status_code == 200


def test_requests_per_address_in_a_sliding_window(redis_conn: redis.Redis, redis_namespace: str) -> None:
    built = build(redis_conn, make_settings(redis_namespace, rate_limit_per_ip=5, rate_limit_window=60))
    with built.http:
        secret = built.client("busy")
        statuses = [grant(built.http, "busy", secret).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        refused = grant(built.http, "busy", secret)
        assert refused.json()["error"] == "temporarily_unavailable"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # Another address has its own window.
        assert grant(from_address(built, FLEET), "busy", secret).status_code == 200


def test_lockouts_double_up_to_the_maximum(redis_conn: redis.Redis, redis_namespace: str) -> None:
    limiter = RateLimiter(
        redis_conn,
        redis_namespace,
        IssuerSettings(failures_per_client_address=2, failures_per_address=1000, lockout_base=30, lockout_max=200),
    )
    lockouts = []
    for _ in range(5):
        lockouts.append(max(limiter.failed(client_id="c", source_ip="192.0.2.9") for _ in range(2)))
    assert lockouts == [30, 60, 120, 200, 200]
    limiter.succeeded(client_id="c", source_ip="192.0.2.9")  # the backoff is forgotten once the secret is right
    assert [limiter.failed(client_id="c", source_ip="192.0.2.9") for _ in range(2)] == [0, 30]


def test_the_sliding_window_forgets_old_failures(redis_conn: redis.Redis, redis_namespace: str) -> None:
    now = [1_000_000.0]
    limiter = RateLimiter(
        redis_conn,
        redis_namespace,
        IssuerSettings(failure_window=60, failures_per_client_address=3, failures_per_address=1000),
        clock=lambda: now[0],
    )
    assert limiter.failed(client_id="c", source_ip="192.0.2.10") == 0
    now[0] += 40
    assert limiter.failed(client_id="c", source_ip="192.0.2.10") == 0
    now[0] += 30  # the first failure is 70 s old: out of the window (a fixed window might have reset both)
    assert limiter.failed(client_id="c", source_ip="192.0.2.10") == 0
    now[0] += 10
    assert limiter.failed(client_id="c", source_ip="192.0.2.10") > 0  # three within 60 s


def test_a_burst_of_failures_still_raises_the_stuffing_alert(
    es: Elasticsearch, redis_conn: redis.Redis, namespace: str, apply_indices: Callable[..., None]
) -> None:
    """Through the real pipeline: issuer decisions -> siem's stream -> the worker's drain -> Elasticsearch -> rule."""
    pipeline = Pipeline(es, redis_conn, SiemSettings(namespace=namespace))
    try:
        apply_indices(namespace, "siem", "detections")
        pipeline.setup()
        decisions = DecisionBuffer(AuthDecisionSink(pipeline))
        built = build(redis_conn, make_settings(namespace), decisions=decisions)
        attacker = from_address(built, ATTACKER)
        # Default limits: the burst is throttled (FAILURES_PER_ADDRESS failures lock the address) and stays visible.
        limit = IssuerSettings().failures_per_address
        statuses = [grant(attacker, f"stuffed-{n % 40}", "guess").status_code for n in range(limit + 15)]
        assert statuses.count(401) == limit
        assert statuses.count(429) == 15
        decisions.flush()
        report = pipeline.drain()
        assert report.indexed == limit + 15, report
        detections = Detections(DetectionsSettings(namespace=namespace, ingest_delay_seconds=0), es, redis_conn)
        assert not detections.run_cycle(datetime.now(UTC) + timedelta(milliseconds=1)).errors
        alerts = detections.alerts(AlertFilter(rule_id=STUFFING, limit=50)).alerts
        assert [a.group_key for a in alerts] == [f"source.ip={ATTACKER[0]}"]
    finally:
        remove_prefix(es, redis_conn, namespace)


def test_made_up_forwarding_headers_do_not_spread_failures(redis_conn: redis.Redis, redis_namespace: str) -> None:
    """Forwarding headers count only from a trusted proxy (the guard's rule): an attacker cannot invent addresses
    to stay under the per-address limits, and clients behind a trusted proxy are told apart."""
    settings = make_settings(redis_namespace, failures_per_client_address=3, failures_per_address=100)
    built = build(redis_conn, settings.model_copy(update={"trusted_proxies": (ip_network("10.0.0.0/8"),)}))
    with built.http:
        secret = built.client("victim")
        attacker = from_address(built, ATTACKER)
        spoofed = [grant_from(attacker, "victim", "wrong", f"198.51.100.{n}").status_code for n in range(4)]
        assert spoofed == [401, 401, 401, 429]  # one address, whatever it claims
        proxy = from_address(built, ("10.1.2.3", 443))
        for _ in range(3):
            grant_from(proxy, "victim", "wrong", "192.0.2.200")
        assert grant_from(proxy, "victim", secret, "192.0.2.200").status_code == 429  # that client, locked
        assert grant_from(proxy, "victim", secret, "192.0.2.201").status_code == 200  # its neighbour is not
    sources = {e.source_ip for e in built.events()}
    assert {ATTACKER[0], "192.0.2.200", "192.0.2.201"} <= sources
    assert not sources & {f"198.51.100.{n}" for n in range(4)}


def grant_from(http: TestClient, client_id: str, secret: str, forwarded_for: str) -> Any:
    headers = {**basic(client_id, secret), "X-Forwarded-For": forwarded_for}
    return http.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=headers)
