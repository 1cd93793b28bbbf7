"""Two real `vigil serve` replicas sharing nothing but Elasticsearch and Redis: whatever one produces, the other
serves (a bundle byte for byte, a console form), because no state lives on a replica's disk or in its memory."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from elasticsearch import Elasticsearch
from pydantic import SecretStr

from edgeauth import EdgeAuthSettings, KeyStore, mint_access_token
from evidence import EvidenceLocker, EvidenceSettings
from tests.vigil.running import KEK, RunningVigil
from vigil import indices
from vigil.settings import load_settings

pytestmark = pytest.mark.integration

# This engineer's loopback ports (18600-18699): two replicas side by side.
PORTS = (18601, 18602)


def token(redis_conn: redis.Redis, namespace: str, scopes: list[str], subject: str) -> str:
    settings = EdgeAuthSettings(namespace=namespace, key_encryption_key=SecretStr(KEK))
    key = KeyStore(redis_conn, settings).active_signing_key()
    return mint_access_token(
        key,
        issuer=settings.issuer,
        subject=subject,
        audience=settings.audiences[0],
        client_id="replica-test",
        scopes=scopes,
        ttl=600,
    )


def test_a_bundle_built_through_one_replica_downloads_identical_through_the_other(
    vigil_run: RunningVigil, es: Elasticsearch, redis_conn: redis.Redis
) -> None:
    first, second = (vigil_run.start_app(port=port) for port in PORTS)
    # Evidence appended directly, as a collector on a third host would.
    indices.apply(es, load_settings().in_namespace(vigil_run.namespace), owners=["evidence"])
    locker = EvidenceLocker(es, redis_conn, EvidenceSettings(namespace=vigil_run.namespace))
    moment = datetime.now(UTC) - timedelta(hours=1)
    for n in range(3):
        locker.append(
            collector="replica-test",
            collector_version="1",
            source_system="test",
            query="q",
            effective_at=moment + timedelta(minutes=n),
            content=b"evidence %d " % n * 50_000,  # ~0.5 MB each: several store chunks per bundle
            control_ids=["CC6.1"],
        )
    bearer = {"Authorization": f"Bearer {token(redis_conn, vigil_run.namespace, ['evidence:read'], 'auditor')}"}
    period = {"from": (moment - timedelta(minutes=1)).isoformat(), "to": (moment + timedelta(hours=1)).isoformat()}
    built = httpx.post(f"{first}/evidence/bundles", json=period, headers=bearer, timeout=120)
    assert built.status_code == 201, built.text
    info = built.json()
    whole = httpx.get(f"{second}/evidence/bundles/{info['name']}", headers=bearer, timeout=120)
    assert whole.status_code == 200, whole.text
    assert hashlib.sha256(whole.content).hexdigest() == info["sha256"]
    assert len(whole.content) == info["size"]
    again = httpx.get(f"{first}/evidence/bundles/{info['name']}", headers=bearer, timeout=120)
    assert again.content == whole.content
    ranged = httpx.get(
        f"{second}/evidence/bundles/{info['name']}", headers={**bearer, "Range": "bytes=100-199"}, timeout=60
    )
    assert ranged.status_code == 206
    assert ranged.content == whole.content[100:200]
    # One signing key for both: each publishes the same key, and it is the one the bundle names.
    keys = [httpx.get(f"{url}/.well-known/vigil-evidence-keys.json", timeout=30).json() for url in (first, second)]
    assert keys[0] == keys[1]
    assert [k["kid"] for k in keys[0]["keys"]] == [info["kid"]]


def test_a_console_form_rendered_by_one_replica_posts_to_the_other(
    vigil_run: RunningVigil, redis_conn: redis.Redis
) -> None:
    # The sign-in form that posts is the token paste (development only); the code flow's forms are the issuer's.
    paste = {"VIGIL_CONSOLE__DEV_TOKEN_PASTE": "true"}
    first, second = (vigil_run.start_app(port=port, **paste) for port in PORTS)
    analyst = token(redis_conn, vigil_run.namespace, ["alerts:read", "alerts:triage"], "analyst")
    with httpx.Client(base_url=first, timeout=60) as one, httpx.Client(base_url=second, timeout=60) as two:
        login = one.get("/console/login")
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', login.text)
        assert csrf is not None, login.text[:500]
        nonce = one.cookies.get("vigil_console_signin")
        assert nonce
        two.cookies.set("vigil_console_signin", nonce, path="/console")
        signed_in = two.post("/console/login", data={"token": analyst, "csrf": csrf.group(1)})
        assert signed_in.status_code == 303, signed_in.text[:500]
        assert two.cookies.get("vigil_console")
        # The nonce's form from the first replica was good on the second; a forged one is refused on both.
        for client in (one, two):
            client.cookies.set("vigil_console_signin", nonce, path="/console")
            forged = client.post("/console/login", data={"token": analyst, "csrf": "0" * 64})
            assert forged.status_code == 400, forged.text[:300]
