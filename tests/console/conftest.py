"""A whole Vigil app under a unique prefix, with real alerts from ingested events and a signed evidence bundle."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import uvicorn
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from pydantic import SecretStr

from detections import AlertFilter, Detections
from detections.selftest.scratch import remove_prefix
from edgeauth.people import PeopleDirectory
from edgeauth.settings import FederationSettings, PeopleSettings
from evidence import BuiltBundle, EvidenceArchive
from siem import Pipeline
from tests.fixtures.edgeauth import EdgeAuthHarness
from vigil import keyring
from vigil.app import create_app
from vigil.clients import redis_client
from vigil.compliance_runtime import build_compliance
from vigil.console.registration import register_first_party
from vigil.detections_runtime import build_detections
from vigil.settings import VigilSettings

ANALYST = ("alerts:read", "alerts:triage")
AUDITOR = ("evidence:read", "compliance:read")
SCANNER_RULE = "ac205f40-caa4-4100-a77d-592b520fcf38"
REVOKED_RULE = "df625dc4-22a0-452e-9119-597f91a3ccc1"


@dataclass
class World:
    prefix: str
    settings: VigilSettings
    app: FastAPI
    detections: Detections
    archive: EvidenceArchive
    bundle: BuiltBundle
    engagement: dict[str, str]


def ingest(pipeline: Pipeline, fmt: str, records: list[dict[str, Any]]) -> None:
    stamp = datetime.now(UTC).isoformat()
    key = "timestamp" if fmt == "auth" else "@timestamp"
    lines = [json.dumps({key: stamp, **r}) for r in records]
    pipeline.push(fmt, lines)
    report = pipeline.drain()
    assert report.indexed == len(lines), report


@pytest.fixture(scope="module")
def world(
    settings: VigilSettings,
    es: Elasticsearch,
    redis_conn: redis.Redis,
    edge_auth: EdgeAuthHarness,
    tmp_path_factory: pytest.TempPathFactory,
    apply_indices: Callable[..., None],
) -> Iterator[World]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    named = settings.in_namespace(prefix)
    scoped = named.model_copy(
        update={
            "detections": named.detections.model_copy(update={"ingest_delay_seconds": 0}),
            "edgeauth": named.edgeauth.model_copy(update={"key_encryption_key": SecretStr("console-test-kek")}),
            # The page tests sign in with tokens minted by the edge_auth fixture (the development paste, over
            # plain http); test_signin.py signs in through the issuer's code flow instead.
            "console": named.console.model_copy(update={"dev_token_paste": True, "secure_cookie": "auto"}),
        }
    )
    try:
        apply_indices(prefix)
        pipeline = Pipeline(es, redis_conn, scoped.siem)
        pipeline.setup()
        # Real events through siem's pipeline: a scanner probing from three addresses, one revoked token replayed.
        ingest(
            pipeline,
            "json",
            [
                {"method": "GET", "path": "/", "status": 404, "remote_ip": f"192.0.2.{i}", "user_agent": "sqlmap/1.7"}
                for i in range(1, 4)
            ],
        )
        ingest(pipeline, "auth", [{"outcome": "failure", "reason": "revoked", "source_ip": "203.0.113.9", "jti": "j9"}])
        detections = build_detections(scoped)
        detections.run_cycle(datetime.now(UTC) + timedelta(milliseconds=1))
        assert detections.alerts(AlertFilter(rule_id=REVOKED_RULE)).total == 1
        archive = keyring.evidence_archive(scoped)
        now = datetime.now(UTC)
        # Real compliance evidence: the collectors read edgeauth, siem, detections and the locker itself.
        build_compliance(scoped).collect()
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        bundle = archive.build_bundle(day, day + timedelta(days=1))
        engagement = {
            "from": (day - timedelta(days=30)).isoformat().replace("+00:00", "Z"),
            "to": (day + timedelta(days=30)).isoformat().replace("+00:00", "Z"),
        }
        yield World(prefix, scoped, create_app(scoped, guard=edge_auth.guard), detections, archive, bundle, engagement)
    finally:
        remove_prefix(es, redis_conn, prefix)


# The ports this suite's live servers may use (the session's port plan gives the sign-in work 18720-18729).
LIVE_PORTS = range(18720, 18730)


@dataclass
class LiveVigil:
    """The whole app as `vigil serve` runs it (its own issuer and verifier, no test guard) on a loopback port."""

    url: str
    settings: VigilSettings
    app: FastAPI
    directory: PeopleDirectory


def live_port(ports: range = LIVE_PORTS) -> int:
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"every port of {ports} is taken")


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[None]:
    """`app` under uvicorn on 127.0.0.1:`port` in a thread, for the block."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # Waiting for the socket to listen is setup, not an assertion on speed.
    for _ in range(600):
        if server.started:
            break
        assert thread.is_alive(), "uvicorn stopped while starting"
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield
    finally:
        server.should_exit = True
        thread.join()


@pytest.fixture(scope="module")
def live(world: World) -> Iterator[LiveVigil]:
    """The world's data served by the real app: people sign in at its issuer, the console is its relying party."""
    with serve_live(world, live_port()) as running:
        yield running


@contextmanager
def serve_live(
    world: World, port: int, federation: FederationSettings | None = None, console_client: str | None = None
) -> Iterator[LiveVigil]:
    """The whole app on `port` for the block; `federation` adds upstream identity providers, and `console_client`
    names the console's own client (one per address: its redirect URI names the port)."""
    url = f"http://127.0.0.1:{port}"
    base = world.settings
    edgeauth = base.edgeauth.model_copy(
        update={
            "issuer": url,
            # The test browser speaks plain http on loopback; argon2 at its cheapest so sign-ins stay quick.
            "oauth": base.edgeauth.oauth.model_copy(update={"sso_cookie_insecure": True}),
            "people": PeopleSettings(argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1),
            "federation": federation or base.edgeauth.federation,
        }
    )
    console = base.console.model_copy(
        update={
            "dev_token_paste": False,
            "secure_cookie": "auto",
            "client_id": console_client or base.console.client_id,
        }
    )
    settings = base.model_copy(update={"edgeauth": edgeauth, "console": console})
    register_first_party(settings, actor="test")
    app = create_app(settings)
    with serving(app, port):
        yield LiveVigil(url, settings, app, PeopleDirectory.from_settings(settings.edgeauth, redis_client(settings)))
