"""The composed app serves the edgeauth issuer, and its error handler turns edgeauth errors into OAuth JSON."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from vigil.app import create_app
from vigil.settings import VigilSettings

pytestmark = pytest.mark.integration


def test_issuer_routes_are_mounted(settings: VigilSettings, es_namespace: str, redis_namespace: str) -> None:
    # Keys, counters and the decision events this test causes all stay under the test's namespace.
    with TestClient(create_app(settings.in_namespace(redis_namespace))) as client:
        metadata = client.get("/.well-known/oauth-authorization-server")
        assert metadata.status_code == 200
        assert metadata.json()["token_endpoint"].endswith("/oauth/token")
        anonymous = client.post("/oauth/token", data={"grant_type": "client_credentials"})
        assert anonymous.status_code == 401
        assert anonymous.json()["error"] == "invalid_client"
        too_big = client.post(
            "/oauth/token", content=b"x" * 20000, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert too_big.status_code == 413
        assert too_big.json()["error"] == "invalid_request"
