"""`deploy/nginx/vigil.conf.template` as shipped: nginx (Debian package) in front of two real `vigil serve` replicas.
Requests reach both; when one replica is killed with SIGKILL, nginx sends everything, ingest included, to the other.
Own ports (18652-18654)."""

from __future__ import annotations

import json
import string
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.vigil.running import ROOT, RunningVigil, wait_for
from tests.vigil.test_replicas import token

pytestmark = pytest.mark.integration

NGINX = "/usr/sbin/nginx"
APPS = (18652, 18653)
LISTEN = 18654


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Path]:
    prefix = tmp_path / "nginx"
    for folder in ("logs", "tmp"):
        (prefix / folder).mkdir(parents=True)
    template = string.Template((ROOT / "deploy/nginx/vigil.conf.template").read_text(encoding="utf-8"))
    conf = prefix / "nginx.conf"
    conf.write_text(
        template.safe_substitute(
            LISTEN=f"127.0.0.1:{LISTEN}", APP=f"127.0.0.1:{APPS[0]}", APP_2=f"127.0.0.1:{APPS[1]}"
        ),
        encoding="utf-8",
    )
    proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf)])
    try:
        yield prefix
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_nginx_spreads_over_two_replicas_and_survives_one_killed(
    vigil_run: RunningVigil, redis_conn: redis.Redis, nginx: Path
) -> None:
    url = f"http://127.0.0.1:{LISTEN}"
    for port in APPS:
        vigil_run.start_app(port=port)

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(healthy, "nginx to answer through the replicas", deadline=30)
    bearer = {"Authorization": f"Bearer {token(redis_conn, vigil_run.namespace, ['ingest:write'], 'shipper')}"}
    line = json.dumps({"id": "via-nginx", "method": "GET", "path": "/x", "status": 200})

    def ingest() -> int:
        answer = httpx.post(f"{url}/ingest/access", params={"format": "json"}, content=line, headers=bearer, timeout=30)
        return answer.status_code

    assert [ingest() for _ in range(4)] == [202] * 4
    # A secret sent where it does not belong (a query string) does not reach the access log either.
    httpx.post(f"{url}/oauth/token?client_id=shipper&client_secret=QuerySecret42", timeout=30)
    log = nginx / "logs" / "access.log"
    answered = log.read_text(encoding="utf-8")
    assert all(f"upstream=127.0.0.1:{port}" in answered for port in APPS), answered
    assert '"POST /ingest/access?format=json HTTP/1.1"' in answered
    assert '"POST /oauth/token?[redacted] HTTP/1.1"' in answered
    assert "QuerySecret42" not in answered
    vigil_run.crash_app(APPS[0])
    # Every request after the crash is answered by the survivor: nginx moves on from a refused connection.
    assert [httpx.get(f"{url}/healthz", timeout=10).status_code for _ in range(10)] == [200] * 10
    assert [ingest() for _ in range(4)] == [202] * 4
