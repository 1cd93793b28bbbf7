"""The auditor API through the real app, real tokens (edge_auth), real Elasticsearch and Redis."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from evidence import WELL_KNOWN_KEYS, EvidenceArchive, EvidenceSettings
from tests.evidence.conftest import KEK, T0, Add
from vigil.app import create_app
from vigil.settings import VigilSettings

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
ENGAGEMENT = {"from": "2026-01-01T00:00:00Z", "to": (NOW + timedelta(days=30)).isoformat()}


@pytest.fixture
def client(settings: VigilSettings, evidence_settings: EvidenceSettings, edge_auth: Any) -> TestClient:
    named = settings.in_namespace(evidence_settings.namespace)
    sealed = named.edgeauth.model_copy(update={"key_encryption_key": SecretStr(KEK)})
    app = create_app(
        named.model_copy(update={"evidence": evidence_settings, "edgeauth": sealed}), guard=edge_auth.guard
    )
    return TestClient(app)


@pytest.fixture
def bundles(archive: EvidenceArchive, add: Add) -> tuple[str, str]:
    """One bundle inside the engagement (March 2026) and one before it (2025)."""
    add(0)
    add(1)
    archive.locker.append(
        collector="c",
        collector_version="1",
        source_system="s",
        query="q",
        effective_at=datetime(2025, 6, 1, tzinfo=UTC),
        content=b"old",
    )
    inside = archive.build_bundle(T0, T0 + timedelta(days=5)).info.name
    outside = archive.build_bundle(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)).info.name
    return inside, outside


def auditor(edge_auth: Any, **claims: Any) -> dict[str, str]:
    token = edge_auth.token(["evidence:read", "compliance:read"], subject="auditor-jane", **claims)
    return {"Authorization": f"Bearer {token}"}


def test_listing_hides_bundles_outside_the_engagement(
    client: TestClient, edge_auth: Any, bundles: tuple[str, str]
) -> None:
    inside, outside = bundles
    bounded = client.get("/evidence/bundles", headers=auditor(edge_auth, engagement=ENGAGEMENT))
    assert bounded.status_code == 200
    assert [b["name"] for b in bounded.json()["bundles"]] == [inside]
    unbounded = client.get("/evidence/bundles", headers=auditor(edge_auth))
    assert sorted(b["name"] for b in unbounded.json()["bundles"]) == sorted([inside, outside])


def test_download_streams_the_bundle_and_is_recorded(
    client: TestClient, edge_auth: Any, archive: EvidenceArchive, bundles: tuple[str, str]
) -> None:
    inside, _ = bundles
    response = client.get(f"/evidence/bundles/{inside}", headers=auditor(edge_auth, engagement=ENGAGEMENT))
    assert response.status_code == 200
    assert response.content == _stored(archive, inside)
    assert response.headers["content-type"] == "application/zip"
    assert inside in response.headers["content-disposition"]
    (record,) = _downloads(archive)
    assert record["subject"] == "auditor-jane"
    assert record["client_id"] == "test-client"
    assert record["bundle"] == inside
    assert record["sha256"] == archive.catalog.get(inside).sha256  # type: ignore[union-attr]
    assert record["range"] is None
    assert abs(datetime.fromisoformat(record["at"]) - datetime.now(UTC)) < timedelta(minutes=5)
    assert archive.locker.verify().ok


def test_range_requests_are_honoured_and_recorded(
    client: TestClient, edge_auth: Any, archive: EvidenceArchive, bundles: tuple[str, str]
) -> None:
    inside, _ = bundles
    whole = _stored(archive, inside)
    headers = {**auditor(edge_auth, engagement=ENGAGEMENT), "Range": "bytes=10-29"}
    response = client.get(f"/evidence/bundles/{inside}", headers=headers)
    assert response.status_code == 206
    assert response.content == whole[10:30]
    assert response.headers["content-range"] == f"bytes 10-29/{len(whole)}"
    tail = client.get(
        f"/evidence/bundles/{inside}", headers={**auditor(edge_auth, engagement=ENGAGEMENT), "Range": "bytes=-5"}
    )
    assert tail.content == whole[-5:]
    assert [r["range"] for r in _downloads(archive)] == ["bytes=10-29", "bytes=-5"]


@pytest.mark.parametrize(
    ("header", "status", "piece"),
    [
        ("bytes=0-", 206, slice(0, None)),
        ("bytes=5-1000000000", 206, slice(5, None)),
        ("bytes=-1000000000", 206, slice(0, None)),
        ("bytes=0-1,5-6", 200, slice(0, None)),  # several ranges: the whole bundle, as RFC 9110 14.2 allows
        ("items=0-1", 200, slice(0, None)),
        ("bytes=9-3", 200, slice(0, None)),
        ("bytes=1000000000-", 416, None),
        ("bytes=-0", 416, None),
    ],
)
def test_every_kind_of_range_header(
    client: TestClient,
    edge_auth: Any,
    archive: EvidenceArchive,
    bundles: tuple[str, str],
    header: str,
    status: int,
    piece: slice | None,
) -> None:
    inside, _ = bundles
    whole = _stored(archive, inside)
    headers = {**auditor(edge_auth, engagement=ENGAGEMENT), "Range": header}
    response = client.get(f"/evidence/bundles/{inside}", headers=headers)
    assert response.status_code == status
    if piece is None:
        assert response.headers["content-range"] == f"bytes */{len(whole)}"
        assert response.json()["error"] == "range_not_satisfiable"
    else:
        assert response.content == whole[piece]
        assert response.headers["content-length"] == str(len(whole[piece]))


def _stored(archive: EvidenceArchive, name: str) -> bytes:
    with archive.open_bundle(archive.bundle_info(name, None)) as reader:
        return reader.read()


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "../../etc/passwd",
        "%2e%2e%2fkeys%2fkeys.json",
        "..",
        "evidence-20260301T000000Z-20260306T000000Z-000000000000.zip",
        "keys.json",
        "evidence-20260301T000000Z-20260306T000000Z-0000000000000.zip%00.pem",
    ],
)
def test_odd_or_traversing_names_are_not_found(
    client: TestClient, edge_auth: Any, bundles: tuple[str, str], name: str
) -> None:
    response = client.get(f"/evidence/bundles/{name}", headers=auditor(edge_auth))
    assert response.status_code == 404


def test_bundle_outside_the_engagement_is_not_found(
    client: TestClient, edge_auth: Any, archive: EvidenceArchive, bundles: tuple[str, str]
) -> None:
    _, outside = bundles
    response = client.get(f"/evidence/bundles/{outside}", headers=auditor(edge_auth, engagement=ENGAGEMENT))
    assert response.status_code == 404
    assert _downloads(archive) == []


def test_expired_auditor_token_is_401(client: TestClient, edge_auth: Any, bundles: tuple[str, str]) -> None:
    headers = auditor(edge_auth, engagement=ENGAGEMENT, now=time.time() - 3600, ttl=60)
    response = client.get("/evidence/bundles", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get(f"/evidence/bundles/{bundles[0]}", headers=headers).status_code == 401


@pytest.mark.parametrize(
    "engagement",
    [
        {"from": "2025-01-01T00:00:00Z", "to": "2025-12-31T00:00:00Z"},  # over
        {"from": (NOW + timedelta(days=1)).isoformat(), "to": (NOW + timedelta(days=9)).isoformat()},  # not yet
    ],
)
def test_tokens_outside_the_engagement_are_refused(
    client: TestClient, edge_auth: Any, bundles: tuple[str, str], engagement: dict[str, str]
) -> None:
    headers = auditor(edge_auth, engagement=engagement)
    response = client.get("/evidence/bundles", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == "engagement_closed"
    assert client.get(f"/evidence/bundles/{bundles[0]}", headers=headers).status_code == 403


@pytest.mark.parametrize("claim", ["2026", {"from": "monday", "to": "friday"}, {"from": "2026-01-01T00:00:00Z"}])
def test_malformed_engagement_claim_is_refused(client: TestClient, edge_auth: Any, claim: object) -> None:
    response = client.get("/evidence/bundles", headers=auditor(edge_auth, engagement=claim))
    assert response.status_code == 403
    assert "engagement" in response.json()["detail"]


def test_build_through_the_api(client: TestClient, edge_auth: Any, archive: EvidenceArchive, add: Add) -> None:
    add(0, controls=("CC6.1",))
    headers = auditor(edge_auth, engagement=ENGAGEMENT)
    body = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z", "controls": ["CC6.1"]}
    built = client.post("/evidence/bundles", headers=headers, json=body)
    assert built.status_code == 201
    info = built.json()
    assert info["items"] == 1
    assert info["name"] in {b.name for b in archive.bundles_for(None)}
    assert hashlib.sha256(_stored(archive, info["name"])).hexdigest() == info["sha256"]
    again = client.post("/evidence/bundles", headers=headers, json=body)
    assert again.json()["sha256"] == info["sha256"]
    outside = client.post("/evidence/bundles", headers=headers, json={**body, "from": "2025-12-01T00:00:00Z"})
    assert outside.status_code == 403
    empty = client.post("/evidence/bundles", headers=headers, json={**body, "controls": ["NOPE"]})
    assert empty.status_code == 404
    assert empty.json()["error"] == "no_evidence"


@pytest.mark.parametrize(
    "body",
    [
        {"from": "2026-03-01T00:00:00", "to": "2026-03-02T00:00:00Z"},
        {"from": "yesterday", "to": "2026-03-02T00:00:00Z"},
        {"to": "2026-03-02T00:00:00Z"},
        {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z", "controls": "CC6.1", "x": 1},
    ],
)
def test_broken_build_requests_are_4xx(client: TestClient, edge_auth: Any, body: dict[str, object]) -> None:
    response = client.post("/evidence/bundles", headers=auditor(edge_auth), json=body)
    assert response.status_code == 422


def test_public_keys_at_the_well_known_url(client: TestClient, archive: EvidenceArchive) -> None:
    response = client.get(WELL_KNOWN_KEYS)
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["active"] is True
    assert key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert key["jwk"]["crv"] == "Ed25519"
    assert key["kid"] == archive.keys.signer()[0]
    assert "PRIVATE" not in response.text


def _downloads(archive: EvidenceArchive) -> list[dict[str, Any]]:
    found = []
    for item in archive.locker.items(NOW - timedelta(days=1), NOW + timedelta(days=1)):
        if item.query == "download-bundle":
            with archive.locker.open_content(item.sha256) as handle:
                found.append(json.loads(handle.read()))
    return found


def test_bundle_dir_is_not_reachable_by_other_paths(client: TestClient, edge_auth: Any) -> None:
    for path in ("/evidence/", "/evidence/keys/keys.json", "/evidence/bundles/a/b.zip"):
        assert client.get(path, headers=auditor(edge_auth)).status_code in {404, 405}
