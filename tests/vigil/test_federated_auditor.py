"""The federated auditor path through the whole app: an auditor of the Keycloak realm, with an engagement window
carried as a Keycloak user attribute, signs in through "Sign in with Example Corp", gets a token through the code
flow, sees only the evidence bundles inside their engagement, downloads one and it verifies (`vigil evidence
verify`). Real Keycloak, Elasticsearch and Redis; nothing stubbed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from pydantic import SecretStr

from edgeauth.issuer import build_issuer
from edgeauth.settings import FederationSettings, PeopleSettings
from evidence import EvidenceArchive, EvidenceSettings
from tests.edgeauth.issuer.people_flow import APP_REDIRECT, pkce, query
from tests.evidence.conftest import KEK, SEALER, T0
from tests.fixtures.idp import KeycloakRealm, keycloak_sign_in, keycloak_upstream
from vigil.app import create_app
from vigil.clients import redis_client
from vigil.settings import VigilSettings

pytestmark = pytest.mark.integration

ISSUER = "http://127.0.0.1:8000"
VIGIL = str(Path(sys.executable).with_name("vigil"))


@pytest.fixture
def archive(
    es: Elasticsearch, redis_conn: redis.Redis, es_namespace: str, redis_namespace: str, apply_indices: Any
) -> EvidenceArchive:
    apply_indices(es_namespace, "evidence")
    return EvidenceArchive(es, redis_conn, EvidenceSettings(namespace=es_namespace), SEALER)


def collect(archive: EvidenceArchive, effective: datetime, content: bytes) -> None:
    archive.locker.append(
        collector="test-collector",
        collector_version="1",
        source_system="unit-test",
        query="q",
        effective_at=effective,
        control_ids=("CC6.1",),
        content=content,
    )


@pytest.fixture
def app_settings(settings: VigilSettings, archive: EvidenceArchive, keycloak: KeycloakRealm) -> VigilSettings:
    evidence_settings = archive.settings
    named = settings.in_namespace(evidence_settings.namespace)
    upstream = keycloak_upstream(keycloak.issuer)
    edgeauth = named.edgeauth.model_copy(
        update={
            "issuer": ISSUER,
            "key_encryption_key": SecretStr(KEK),
            "oauth": named.edgeauth.oauth.model_copy(update={"sso_cookie_insecure": True}),
            "people": PeopleSettings(argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1),
            "federation": FederationSettings(upstreams=(upstream,), recheck_after=0),
        }
    )
    return named.model_copy(update={"evidence": evidence_settings, "edgeauth": edgeauth})


def test_a_federated_auditor_sees_only_their_engagement_and_verifies_a_bundle(
    app_settings: VigilSettings, keycloak: KeycloakRealm, archive: EvidenceArchive, tmp_path: Path
) -> None:
    collect(archive, T0, b'{"day": 0}')
    collect(archive, T0 + timedelta(days=1), b'{"day": 1}')
    collect(archive, datetime(2025, 6, 1, tzinfo=UTC), b"before the engagement")
    inside = archive.build_bundle(T0, T0 + timedelta(days=5)).info.name
    outside = archive.build_bundle(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)).info.name
    window = {"from": (T0 - timedelta(days=1)).isoformat(), "to": (datetime.now(UTC) + timedelta(days=30)).isoformat()}
    username, password = keycloak.create_user(
        groups=["external-auditors"], domain="audit-firm.example", engagement=json.dumps(window)
    )
    issuer = build_issuer(app_settings.edgeauth, redis_client(app_settings))
    secret = issuer.registry.create(
        "audit-portal",
        actor="test",
        role="auditor",
        audiences=["vigil"],
        redirect_uris=[APP_REDIRECT],
        refresh_tokens=True,
        first_party=True,
    ).client_secret
    assert secret is not None

    with TestClient(create_app(app_settings), base_url=ISSUER, follow_redirects=False) as browser:
        verifier, challenge = pkce()
        started = browser.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": "audit-portal",
                "redirect_uri": APP_REDIRECT,
                "scope": "openid profile email evidence:read",
                "state": "st",
                "nonce": "nn",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        login = browser.get(started.headers["location"])
        button = re.search(r'href="(/oauth/federation/corp/start\?pending=[^"]+)"', login.text)
        assert button is not None, login.text
        to_keycloak = browser.get(button.group(1).replace("&amp;", "&"))
        with httpx.Client() as keycloak_browser:
            back = keycloak_sign_in(keycloak_browser, to_keycloak.headers["location"], username, password)
        parts = urlsplit(back)
        done = browser.get(f"{parts.path}?{parts.query}")
        assert done.status_code == 302, done.text
        tokens = browser.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query(done.headers["location"])["code"],
                "redirect_uri": APP_REDIRECT,
                "code_verifier": verifier,
            },
            auth=("audit-portal", secret.get_secret_value()),
        )
        assert tokens.status_code == 200, tokens.text
        bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}

        listed = browser.get("/evidence/bundles", headers=bearer)
        assert listed.status_code == 200, listed.text
        assert [b["name"] for b in listed.json()["bundles"]] == [inside]
        assert browser.get(f"/evidence/bundles/{outside}", headers=bearer).status_code == 404
        downloaded = browser.get(f"/evidence/bundles/{inside}", headers=bearer)
        assert downloaded.status_code == 200, downloaded.text

    directory = issuer.directory
    assert directory is not None
    person = directory.show(f"{username}@audit-firm.example")
    assert person.roles == ("auditor",)
    assert person.engagement is not None
    bundle = tmp_path / inside
    bundle.write_bytes(downloaded.content)
    verified = subprocess.run(
        [VIGIL, "evidence", "verify", str(bundle)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VIGIL_NAMESPACE": app_settings.namespace, "VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY": KEK},
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK: 2 item(s)")
