"""The compliance API: `compliance:read` required, precise 4xx on bad periods and engagements, never a 500."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from fastapi.testclient import TestClient

from compliance import Compliance, ComplianceSettings, create_router
from evidence import EvidenceLocker
from tests.compliance.oscal_validation import validate_assessment_results
from tests.fixtures.edgeauth import EdgeAuthHarness
from vigil.problems import install_error_answers

pytestmark = pytest.mark.integration


@pytest.fixture
def service(
    es: Elasticsearch, locker: EvidenceLocker, es_namespace: str, apply_indices: Callable[..., None]
) -> Compliance:
    apply_indices(es_namespace, "compliance")
    return Compliance(ComplianceSettings(namespace=es_namespace, scope=("CC6.1", "A.8.32")), es, locker)


@pytest.fixture
def client(edge_auth: EdgeAuthHarness, service: Compliance) -> TestClient:
    app = FastAPI()
    install_error_answers(app)
    app.include_router(create_router(edge_auth.guard, service))
    return TestClient(app)


def _auth(edge_auth: EdgeAuthHarness, *scopes: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {edge_auth.token(scopes or ['compliance:read'], **claims)}"}


def test_scope_is_required(client: TestClient, edge_auth: EdgeAuthHarness) -> None:
    assert client.get("/compliance/controls").status_code == 401
    wrong = client.get("/compliance/controls", headers=_auth(edge_auth, "alerts:read"))
    assert wrong.status_code == 403
    ok = client.get("/compliance/controls", headers=_auth(edge_auth))
    assert ok.status_code == 200
    assert [c["id"] for c in ok.json()] == ["CC6.1", "A.8.32"]


def test_status_before_any_evaluation_is_404_then_the_latest(
    client: TestClient, edge_auth: EdgeAuthHarness, service: Compliance
) -> None:
    missing = client.get("/compliance/status", headers=_auth(edge_auth))
    assert missing.status_code == 404
    assert "no evaluation stored yet" in missing.json()["detail"]
    service.cycle()
    latest = client.get("/compliance/status", headers=_auth(edge_auth)).json()
    assert [c["control_id"] for c in latest["controls"]] == ["CC6.1", "A.8.32"]
    assert {c["outcome"] for c in latest["controls"]} <= {"pass", "fail", "not-applicable"}
    assert all(c["reason"] for c in latest["controls"])
    window = {"from": latest["period"]["start"], "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
    history = client.get("/compliance/history", params=window, headers=_auth(edge_auth))
    assert history.status_code == 200
    assert [r["evaluated_at"] for r in history.json()] == [latest["evaluated_at"]]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", 422),
        ("from=2026-03-01T00:00:00Z", 422),
        ("from=yesterday&to=today", 422),
        ("from=2026-03-01T00:00:00&to=2026-03-02T00:00:00", 422),
        ("from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&to=x", 422),
    ],
)
def test_broken_periods_are_422(client: TestClient, edge_auth: EdgeAuthHarness, query: str, status: int) -> None:
    for path in ("/compliance/history", "/compliance/oscal"):
        response = client.get(f"{path}?{query}", headers=_auth(edge_auth))
        assert response.status_code == status, (path, response.text)


def test_engagement_limits_the_period(client: TestClient, edge_auth: EdgeAuthHarness, service: Compliance) -> None:
    now = datetime.now(UTC)
    service.collect(now=now)
    engagement = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
    headers = _auth(edge_auth, "compliance:read", engagement=engagement)
    inside = {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    outside = {"from": (now - timedelta(days=3)).isoformat(), "to": now.isoformat()}
    assert client.get("/compliance/status", params=outside, headers=headers).status_code == 403
    report = client.get("/compliance/status", params=inside, headers=headers)
    assert report.status_code == 200
    assert {c["control_id"] for c in report.json()["controls"]} == {"CC6.1", "A.8.32"}
    oscal = client.get("/compliance/oscal", params=inside, headers=headers)
    assert oscal.status_code == 200
    validate_assessment_results(oscal.json())
    malformed = _auth(edge_auth, "compliance:read", engagement="all of it")
    assert client.get("/compliance/history", params=inside, headers=malformed).status_code == 403
