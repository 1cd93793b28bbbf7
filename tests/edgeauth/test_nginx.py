"""nginx (Debian package) with `auth_request` to the real edge verifier (`vigil edge serve`) in front of a
sample upstream that echoes the identity headers it receives."""

from __future__ import annotations

import json
import os
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from pydantic import SecretStr

from edgeauth import EdgeAuthSettings, KeyStore, RevocationPublisher, SigningKey, mint_access_token

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NGINX = "/usr/sbin/nginx"
ISSUER = "https://issuer.nginx.test"
RULES = [
    {"method": "POST", "path_prefix": "/api/ingest", "scopes": ["ingest:write"]},
    {"path_prefix": "/api/alerts", "scopes": ["alerts:read"]},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@dataclass
class Stack:
    url: str
    prefix: Path
    key: SigningKey
    settings: EdgeAuthSettings
    redis: redis.Redis

    def token(self, scopes: list[str], **kw: str) -> str:
        return mint_access_token(
            self.key,
            issuer=ISSUER,
            subject=kw.get("subject", "api-user"),
            audience="vigil",
            client_id="nginx-client",
            scopes=scopes,
            ttl=600,
            jti=kw.get("jti"),
        )


@pytest.fixture(scope="module")
def stack(redis_conn: redis.Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    namespace = f"tnginx{os.getpid()}{int(time.time())}"
    settings = EdgeAuthSettings(
        issuer=ISSUER, namespace=namespace, key_encryption_key=SecretStr("nginx-test-kek"), scope_rules=RULES
    )
    key = KeyStore(redis_conn, settings).active_signing_key()
    verifier_port, second_port, upstream_port, listen_port = _free_port(), _free_port(), _free_port(), _free_port()
    prefix = tmp_path_factory.mktemp("nginx")
    for folder in ("logs", "tmp"):
        (prefix / folder).mkdir()
    template = string.Template((ROOT / "deploy/nginx/nginx.conf.template").read_text(encoding="utf-8"))
    conf = prefix / "nginx.conf"
    conf.write_text(
        template.safe_substitute(
            LISTEN=f"127.0.0.1:{listen_port}",
            VERIFIER=f"127.0.0.1:{verifier_port}",
            VERIFIER_2=f"127.0.0.1:{second_port}",
            UPSTREAM=f"127.0.0.1:{upstream_port}",
        ),
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "VIGIL_EDGEAUTH__ISSUER": ISSUER,
        "VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY": "nginx-test-kek",
        "VIGIL_EDGEAUTH__SCOPE_RULES": json.dumps(RULES),
        "VIGIL_EDGEAUTH__REVOCATION_BLOCK_MS": "100",
        "VIGIL_EDGEAUTH__TRUSTED_PROXIES": json.dumps(["127.0.0.1/32"]),
        "VIGIL_NAMESPACE": namespace,
    }
    bindir = Path(sys.executable).parent
    # Two verifiers behind one upstream block, as deployed: nginx spreads the auth subrequests over both.
    procs = [
        subprocess.Popen([str(bindir / "vigil"), "edge", "serve", "--port", str(verifier_port)], env=env, cwd=ROOT),
        subprocess.Popen([str(bindir / "vigil"), "edge", "serve", "--port", str(second_port)], env=env, cwd=ROOT),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(ROOT / "deploy/nginx"),
                "sample_api:app",
                "--port",
                str(upstream_port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
        ),
        subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf)]),
    ]
    try:
        _wait(f"http://127.0.0.1:{verifier_port}/healthz", procs[0])
        _wait(f"http://127.0.0.1:{second_port}/healthz", procs[1])
        _wait(f"http://127.0.0.1:{upstream_port}/x", procs[2])
        _wait(f"http://127.0.0.1:{listen_port}/", procs[3])
        yield Stack(f"http://127.0.0.1:{listen_port}", prefix, key, settings, redis_conn)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        keys = list(redis_conn.scan_iter(match=f"{namespace}*", count=1000))
        if keys:
            redis_conn.delete(*keys)


def test_allowed_request_reaches_the_upstream_with_identity(stack: Stack) -> None:
    token = stack.token(["alerts:read", "alerts:triage"], subject="ana", jti="nginx-allowed")
    response = httpx.get(f"{stack.url}/api/alerts/7", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {
        "path": "/api/alerts/7",
        "method": "GET",
        "subject": "ana",
        "client": "nginx-client",
        "scopes": "alerts:read alerts:triage",
        "x_auth": {
            "x-auth-subject": ["ana"],
            "x-auth-client": ["nginx-client"],
            "x-auth-scopes": ["alerts:read alerts:triage"],
            "x-auth-token-id": ["nginx-allowed"],
        },
    }


def test_client_sent_identity_headers_are_cleared(stack: Stack) -> None:
    token = stack.token(["alerts:read"], subject="ana", jti="nginx-real-jti")
    response = httpx.get(
        f"{stack.url}/api/alerts",
        headers=[
            ("Authorization", f"Bearer {token}"),
            ("X-Auth-Subject", "root"),
            ("X-Auth-Scopes", "admin"),
            ("X-Auth-Token-Id", "forged-jti"),
            ("X-Auth-Token-Id", "forged-again"),
            ("X-Auth-Role", "admin"),
            ("x-auth-tenant", "other"),
        ],
    )
    assert response.status_code == 200
    # Only the verifier's four headers arrive, once each: no client value, known or unknown, gets through.
    assert response.json()["x_auth"] == {
        "x-auth-subject": ["ana"],
        "x-auth-client": ["nginx-client"],
        "x-auth-scopes": ["alerts:read"],
        "x-auth-token-id": ["nginx-real-jti"],
    }


def test_missing_and_bad_tokens_are_denied_with_a_challenge(stack: Stack) -> None:
    missing = httpx.get(f"{stack.url}/api/alerts")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith('Bearer realm="vigil"')
    forged = SigningKey.generate()
    bad = mint_access_token(
        forged, issuer=ISSUER, subject="x", audience="vigil", client_id="c", scopes=["alerts:read"], ttl=600
    )
    denied = httpx.get(f"{stack.url}/api/alerts", headers={"Authorization": f"Bearer {bad}"})
    assert denied.status_code == 401
    assert 'error="invalid_token"' in denied.headers["www-authenticate"]
    assert "subject" not in denied.text


def test_scope_rules_by_method_and_prefix(stack: Stack) -> None:
    reader = stack.token(["alerts:read"])
    post = httpx.post(f"{stack.url}/api/ingest/batch", headers={"Authorization": f"Bearer {reader}"})
    assert post.status_code == 403
    assert 'error="insufficient_scope"' in post.headers["www-authenticate"]
    assert 'scope="ingest:write"' in post.headers["www-authenticate"]
    writer = stack.token(["ingest:write"])
    allowed = httpx.post(f"{stack.url}/api/ingest/batch", headers={"Authorization": f"Bearer {writer}"})
    assert allowed.status_code == 200
    assert allowed.json()["method"] == "POST"
    # Encoded dot segments: nginx routes the decoded path, and the verifier's rule sees the same path.
    sneaky = httpx.get(f"{stack.url}/api/ingest/%2e%2e/alerts/1", headers={"Authorization": f"Bearer {writer}"})
    assert sneaky.status_code == 403


def test_the_verify_location_is_internal(stack: Stack) -> None:
    token = stack.token(["alerts:read"])
    response = httpx.get(f"{stack.url}/_edgeauth_verify", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404


def test_a_revocation_reaches_the_edge(stack: Stack) -> None:
    token = stack.token(["alerts:read"], jti="nginx-revoked")
    assert httpx.get(f"{stack.url}/api/alerts", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    RevocationPublisher(stack.redis, stack.settings).revoke("nginx-revoked", time.time() + 600)
    status = 200
    deadline = time.monotonic() + 15
    while status == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
        status = httpx.get(f"{stack.url}/api/alerts", headers={"Authorization": f"Bearer {token}"}).status_code
    assert status == 401


def test_credentials_in_a_query_string_never_reach_the_access_log(stack: Stack) -> None:
    token = stack.token(["alerts:read"])
    secret = "QuerySecret-" + "x" * 30
    for query in (f"client_secret={secret}&client_id=c1", f"a=1&access_token={token}", f"KEY={secret}"):
        httpx.get(f"{stack.url}/api/alerts?{query}", headers={"Authorization": f"Bearer {token}"})
    httpx.get(f"{stack.url}/api/alerts/%2e%2e/x?id=1%27%20OR%201=1", headers={"Authorization": f"Bearer {token}"})
    # A line nginx cannot parse (a scanner's probe) is logged as it came: the SIEM's scanner rules read it.
    host, port = stack.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"PROBE-NOT-HTTP\r\n\r\n")
        raw.recv(1024)
    logs = stack.prefix / "logs"
    deadline = time.monotonic() + 10
    while "PROBE-NOT-HTTP" not in (logs / "access.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = "".join(path.read_text(errors="replace") for path in logs.iterdir())
    assert secret not in text
    assert token not in text
    assert text.count('"GET /api/alerts?[redacted] HTTP/1.1"') == 3
    # Queries without a credential stay as sent (the SIEM's injection rules read them), the path still encoded.
    assert '"GET /api/alerts/%2e%2e/x?id=1%27%20OR%201=1 HTTP/1.1"' in text
    assert '"PROBE-NOT-HTTP"' in text
