"""`vigil edge serve`'s server: workers share the port, and uvicorn never decides who the client is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis
from pydantic import SecretStr

from bench.edge_wire import free_port, wait_until_up
from edgeauth import EdgeAuthSettings, KeyStore, mint_access_token
from vigil.edgeserver import DEFAULT_APP, default_workers, listening_socket, worker_config

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://issuer.edgeserver.test"


def test_uvicorn_does_not_rewrite_the_client_address() -> None:
    # edgeauth's TRUSTED_PROXIES decides; uvicorn's proxy-header rewrite would trust any loopback peer.
    config = worker_config(DEFAULT_APP, 128)
    assert config.proxy_headers is False
    assert (config.loop, config.http, config.lifespan) == ("uvloop", "httptools", "on")


def test_workers_bind_one_port_together() -> None:
    first = listening_socket("127.0.0.1", 0, 16, reuse_port=True)
    port = first.getsockname()[1]
    second = listening_socket("127.0.0.1", port, 16, reuse_port=True)
    try:
        assert second.getsockname()[1] == port
        # Without SO_REUSEPORT the port is taken: a second single-worker server cannot start on it by mistake.
        with pytest.raises(OSError, match="in use"):
            listening_socket("127.0.0.1", port, 16, reuse_port=False)
    finally:
        first.close()
        second.close()


def test_one_worker_per_usable_core_by_default() -> None:
    assert default_workers() == len(os.sched_getaffinity(0))


@pytest.mark.integration
@pytest.mark.parametrize(("server", "workers"), [("uvicorn", 2), ("granian", 1)])
def test_vigil_edge_serve_answers_verify(
    redis_conn: redis.Redis, redis_namespace: str, server: str, workers: int
) -> None:
    """The real command, both servers: with two uvicorn workers this is the SO_REUSEPORT supervisor end to end."""
    settings = EdgeAuthSettings(issuer=ISSUER, namespace=redis_namespace, key_encryption_key=SecretStr("serve-kek"))
    key = KeyStore(redis_conn, settings).active_signing_key()
    token = mint_access_token(
        key, issuer=ISSUER, subject="served", audience="vigil", client_id="c", scopes=["alerts:read"], ttl=600
    )
    port = free_port()
    env = {
        **os.environ,
        "VIGIL_NAMESPACE": redis_namespace,
        "VIGIL_EDGEAUTH__ISSUER": ISSUER,
        "VIGIL_EDGEAUTH__SCOPE_RULES": json.dumps([{"path_prefix": "/api", "scopes": ["alerts:read"]}]),
    }
    vigil = Path(sys.executable).with_name("vigil")
    command = [str(vigil), "edge", "serve", "--port", str(port), "--workers", str(workers), "--server", server]
    proc = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, f"vigil edge serve --server {server}")
        url = f"http://127.0.0.1:{port}/verify"
        assert httpx.get(url, headers={"X-Original-URI": "/api/x"}).status_code == 401
        answered = httpx.get(url, headers={"X-Original-URI": "/api/x", "Authorization": f"Bearer {token}"})
        assert answered.status_code == 200
        assert answered.headers["x-auth-subject"] == "served"
        assert httpx.get(f"http://127.0.0.1:{port}/nothing").status_code == 404
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) is not None
