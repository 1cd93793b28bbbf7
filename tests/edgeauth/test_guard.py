"""The Guard (FastAPI dependency) and the `edge_auth` fixture other packages build on.

No `from __future__ import annotations` here: FastAPI must evaluate `Depends(guard.require(...))`, which names
a local variable, when the route is declared.
"""

from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from edgeauth import Guard, Principal
from tests.fixtures.edgeauth import EdgeAuthHarness


def _app(guard: Guard) -> FastAPI:
    app = FastAPI()

    @app.get("/alerts")
    def alerts(principal: Annotated[Principal, Depends(guard.require("alerts:read"))]) -> dict[str, object]:
        return {"subject": principal.subject, "scopes": sorted(principal.scopes), "claims": principal.claims}

    return app


def test_valid_token_yields_the_principal(edge_auth: EdgeAuthHarness) -> None:
    client = TestClient(_app(edge_auth.guard))
    token = edge_auth.token(["alerts:read", "alerts:triage"], subject="ana", engagement={"from": "a", "to": "b"})
    response = client.get("/alerts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body = response.json()
    assert body["subject"] == "ana"
    assert body["scopes"] == ["alerts:read", "alerts:triage"]
    assert body["claims"]["engagement"] == {"from": "a", "to": "b"}


def test_missing_token_is_a_bare_401_challenge(edge_auth: EdgeAuthHarness) -> None:
    response = TestClient(_app(edge_auth.guard)).get("/alerts")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="vigil"')
    assert "error=" not in response.headers["www-authenticate"]


def test_invalid_token_is_401_invalid_token(edge_auth: EdgeAuthHarness) -> None:
    response = TestClient(_app(edge_auth.guard)).get("/alerts", headers={"Authorization": "Bearer abc.def.ghi"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.json()["detail"]["reason"] == "malformed"


def test_missing_scope_is_403_insufficient_scope(edge_auth: EdgeAuthHarness) -> None:
    token = edge_auth.token(["ingest:write"])
    response = TestClient(_app(edge_auth.guard)).get("/alerts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="alerts:read"' in challenge


def test_token_from_another_issuer_is_refused(edge_auth: EdgeAuthHarness) -> None:
    token = edge_auth.token(["alerts:read"], iss="https://issuer.vigil.test.evil")
    response = TestClient(_app(edge_auth.guard)).get("/alerts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["detail"]["reason"] == "wrong_issuer"
