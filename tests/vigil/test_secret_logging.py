"""No secret reaches any log: a client secret or an access token sent where it should not be (a query string) or
where it should (a form body, a Basic header, a bearer header) appears in none of the logs of a real run."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import redis
from elasticsearch import Elasticsearch
from pydantic import SecretStr

from edgeauth import EdgeAuthSettings, KeyStore
from edgeauth.issuer import ClientRegistry
from tests.vigil.running import KEK, RunningVigil, wait_for

pytestmark = pytest.mark.integration


def test_secrets_never_reach_a_log(vigil_run: RunningVigil, es: Elasticsearch, redis_conn: redis.Redis) -> None:
    edge = EdgeAuthSettings(namespace=vigil_run.namespace, key_encryption_key=SecretStr(KEK))
    KeyStore(redis_conn, edge).ensure()  # signing keys exist before the app's verifier loads the JWKS
    registry = ClientRegistry.from_settings(edge, redis_conn)
    secret = registry.create("log-probe", actor="test", role="analyst", audiences=["vigil"]).client_secret
    assert secret is not None
    plain = secret.get_secret_value()
    vigil_run.start_worker(detections=False)
    url = vigil_run.start_app()
    basic = "Basic " + base64.b64encode(f"log-probe:{plain}".encode()).decode()
    with httpx.Client(base_url=url) as http:
        # The secret in a query string (wrong, but clients do it), then in the form and in Basic (right).
        http.post(f"/oauth/token?client_id=log-probe&client_secret={plain}", data={"grant_type": "client_credentials"})
        granted = http.post(
            "/oauth/token", data={"grant_type": "client_credentials", "client_id": "log-probe", "client_secret": plain}
        )
        assert granted.status_code == 200
        access = granted.json()["access_token"]
        by_basic = http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": basic}
        )
        assert by_basic.status_code == 200
        # A wrong secret one character longer than the right one, and the token in a query string and a header.
        wrong = "Basic " + base64.b64encode(f"log-probe:{plain}A".encode()).decode()
        refused = http.post("/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": wrong})
        assert refused.status_code == 401
        http.get(f"/detections/alerts?access_token={access}&limit=5")
        answer = http.get("/detections/alerts", headers={"Authorization": f"Bearer {access}"})
        assert answer.status_code == 200, answer.text
        http.post("/oauth/revoke", data={"token": access, "client_id": "log-probe", "client_secret": plain})

    def decisions_indexed() -> bool:
        es.indices.refresh(index=f"{vigil_run.namespace}-*", ignore_unavailable=True, allow_no_indices=True)
        found = es.count(
            index=f"{vigil_run.namespace}-*",
            query={"term": {"vigil.auth.client_id": "log-probe"}},
            ignore_unavailable=True,
        )
        return int(found["count"]) >= 5  # two grants, a refusal, the bearer check and the revocation

    wait_for(decisions_indexed, "the run's decisions in Elasticsearch")
    vigil_run.stop()  # flush every process's output
    logs = vigil_run.log_text()
    # Not vacuous: the access log did record the requests that carried the secrets.
    assert "/oauth/token?client_id=[redacted]&client_secret=[redacted]" in logs
    assert "/detections/alerts?access_token=[redacted]&limit=[redacted]" in logs
    for needle in (plain, access, basic.split()[1], wrong.split()[1]):
        assert needle not in logs
    # Nor anything the SIEM indexed from this run (decisions, dead letters, audit records).
    documents = es.search(index=f"{vigil_run.namespace}-*", query={"match_all": {}}, size=1000, ignore_unavailable=True)
    indexed = json.dumps([hit["_source"] for hit in documents["hits"]["hits"]])
    assert "log-probe" in indexed
    for needle in (plain, access):
        assert needle not in indexed
