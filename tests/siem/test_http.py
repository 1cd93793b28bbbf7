"""`POST /ingest/{dataset}` against real tokens, the real Redis and Elasticsearch; hostile input included."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable

import pytest
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from fastapi.testclient import TestClient

from siem import DeadLetterStore, Pipeline
from siem.http import create_router
from tests.siem.conftest import count_docs, nginx_line
from vigil.problems import install_error_answers

pytestmark = pytest.mark.integration


@pytest.fixture
def client_for(edge_auth) -> Callable[[Pipeline], TestClient]:
    def make(pipeline: Pipeline) -> TestClient:
        app = FastAPI()
        install_error_answers(app)
        app.include_router(create_router(edge_auth.guard, pipeline))
        return TestClient(app, raise_server_exceptions=False)

    return make


@pytest.fixture
def auth(edge_auth) -> dict[str, str]:
    return {"Authorization": f"Bearer {edge_auth.token(['ingest:write'])}"}


def test_batch_is_accepted_after_queueing_and_indexed_once(pipeline, client_for, auth, es: Elasticsearch) -> None:
    body = "\n".join(nginx_line(n) for n in range(120)) + "\n"
    response = client_for(pipeline).post("/ingest/access", content=body, headers=auth)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 120
    assert pipeline.stream.depth() == 120  # durably queued before the answer
    pipeline.drain()
    assert count_docs(es, pipeline.layout.alias) == 120


def test_gzip_ndjson_of_lograge_records_is_accepted(pipeline, client_for, auth, es: Elasticsearch) -> None:
    lines = [json.dumps({"method": "GET", "path": f"/p/{n}", "status": 200, "request_id": f"r{n}"}) for n in range(10)]
    response = client_for(pipeline).post(
        "/ingest/access?format=json",
        content=gzip.compress("\n".join(lines).encode()),
        headers={**auth, "Content-Encoding": "gzip"},
    )
    assert response.status_code == 202, response.text
    pipeline.drain()
    assert count_docs(es, pipeline.layout.alias, {"term": {"http.request.id": "r3"}}) == 1


def test_missing_token_is_401_and_wrong_scope_403(pipeline, client_for, edge_auth) -> None:
    client = client_for(pipeline)
    missing = client.post("/ingest/access", content=nginx_line(1))
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = client.post(
        "/ingest/access",
        content=nginx_line(1),
        headers={"Authorization": f"Bearer {edge_auth.token(['alerts:read'])}"},
    )
    assert wrong.status_code == 403
    assert 'error="insufficient_scope"' in wrong.headers["www-authenticate"]
    assert pipeline.stream.depth() == 0


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "detail"),
    [
        ("/ingest/netflow", b"x", {}, 404, "unknown dataset 'netflow'"),
        ("/ingest/access?format=csv", b"x", {}, 404, "unknown record format 'csv'"),
        ("/ingest/access?format=auth", b"x", {}, 400, "belongs to dataset 'auth'"),
        ("/ingest/access", b"ok line\n\xff\xfe bad", {}, 400, "line 2 is not valid UTF-8"),
        ("/ingest/access", b"not gzip", {"Content-Encoding": "gzip"}, 400, "not valid gzip"),
        ("/ingest/access", gzip.compress(b"x")[:-6], {"Content-Encoding": "gzip"}, 400, "truncated"),
        ("/ingest/access", b"x", {"Content-Encoding": "br"}, 400, "not supported"),
        ("/ingest/access", b"\n\n  \n", {}, 400, "no records"),
        ("/ingest/access", b"a" * (10 * 1024 * 1024), {}, 413, "line 1 exceeds"),
        (
            "/ingest/access",
            gzip.compress(b"a\n" * (9 * 1024 * 1024)),
            {"Content-Encoding": "gzip"},
            413,
            "decompressed",
        ),
    ],
)
def test_hostile_batches_get_a_precise_4xx_and_queue_nothing(
    make_pipeline, client_for, auth, path: str, body: bytes, headers: dict[str, str], status: int, detail: str
) -> None:
    pipeline = make_pipeline(max_request_bytes=12 * 1024 * 1024)
    response = client_for(pipeline).post(path, content=body, headers={**auth, **headers})
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]
    assert pipeline.stream.depth() == 0


def test_oversized_body_is_413_before_reading_it(make_pipeline, client_for, auth) -> None:
    pipeline = make_pipeline(max_request_bytes=4096)
    response = client_for(pipeline).post("/ingest/access", content=b"x\n" * 4096, headers=auth)
    assert response.status_code == 413
    assert "4096-byte limit" in response.json()["detail"]


def test_broken_records_inside_a_good_batch_reach_the_dead_letter(pipeline, client_for, auth, es) -> None:
    records = [
        '{"method": "GET", "path": "/", "status": 200',  # invalid JSON
        "[" * 50_000 + "]" * 50_000,  # deeply nested
        '{"method": "GET", "path": "/", "status": "OK"}',  # wrong type for a mapped field
        '{"method": "GET", "path": "/fine", "status": 204}',
    ]
    response = client_for(pipeline).post("/ingest/access?format=json", content="\n".join(records), headers=auth)
    assert response.status_code == 202
    report = pipeline.drain()
    assert (report.indexed, report.dead_lettered) == (1, 3)
    reasons = sorted(d.error_message for d in DeadLetterStore(es, pipeline.layout).list())
    assert any("not valid JSON" in r for r in reasons)
    assert any("nested too deeply" in r for r in reasons)
    assert any("status_code" in r for r in reasons)


def test_above_the_high_water_mark_the_answer_is_429_with_retry_after(make_pipeline, client_for, auth) -> None:
    pipeline = make_pipeline(high_water_mark=50, retry_after_seconds=7)
    client = client_for(pipeline)
    assert (
        client.post("/ingest/access", content="\n".join(nginx_line(n) for n in range(40)), headers=auth).status_code
        == 202
    )
    refused = client.post("/ingest/access", content="\n".join(nginx_line(n) for n in range(20)), headers=auth)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "7"
    assert pipeline.stream.depth() == 40


def test_the_assembled_app_mounts_ingest_and_serves_pipeline_metrics(
    settings, siem_prefix: str, edge_auth, apply_indices
) -> None:
    from siem import SiemSettings
    from vigil.app import create_app

    scoped = settings.model_copy(update={"siem": SiemSettings(namespace=siem_prefix)})
    apply_indices(siem_prefix, "siem")
    client = TestClient(create_app(scoped, guard=edge_auth.guard))
    token = edge_auth.token(["ingest:write"])
    response = client.post("/ingest/access", content=nginx_line(1), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.text
    metrics = client.get("/metrics").text
    assert "vigil_siem_events_received_total 1.0" in metrics
    assert "vigil_siem_queue_depth_events 1.0" in metrics


FORGED = json.dumps(
    {"outcome": "success", "reason": "ok", "subject": "adm", "scopes": ["admin"], "vigil": {"ingest": {"client": "x"}}}
)


def test_an_ingest_token_cannot_forge_auth_or_audit_events(pipeline, client_for, auth, edge_auth, es) -> None:
    """Issue 13, item 3: `auth` and `audit` take their producers' scopes; every event names its real sender."""
    client = client_for(pipeline)
    assert client.post("/ingest/auth", content=FORGED, headers=auth).status_code == 403
    assert client.post("/ingest/audit", content="{}", headers=auth).status_code == 403
    assert client.post("/ingest/auth", content=FORGED).status_code == 401
    assert pipeline.stream.depth() == 0
    edge = {"Authorization": f"Bearer {edge_auth.token(['ingest:auth'], client_id='edge-eu-1')}"}
    assert client.post("/ingest/auth", content=FORGED, headers=edge).status_code == 202
    assert client.post("/ingest/access", content=nginx_line(1), headers=edge).status_code == 403
    assert client.post("/ingest/access", content=nginx_line(1), headers=auth).status_code == 202
    pipeline.drain()
    hits = es.search(index=pipeline.layout.alias, query={"match_all": {}}, size=10)["hits"]["hits"]
    senders = sorted((h["_source"]["event"]["dataset"], h["_source"]["vigil"]["ingest"]["client"]) for h in hits)
    assert senders == [("access", "test-client"), ("auth", "edge-eu-1")]  # never "x", the body's claim


def test_the_receipt_says_which_records_will_be_dead_lettered_and_why(pipeline, client_for, auth) -> None:
    """Issue 13, item 10: `POST /ingest` reports the dead letter, grouped by reason, naming the input field."""
    records = [json.dumps({"exception": {"class": "E", "message": "m"}})] * 2 + ['{"exception": {"class": 1}}'] * 3
    response = client_for(pipeline).post("/ingest/exception", content="\n".join(records), headers=auth)
    assert response.status_code == 202, response.text
    receipt = response.json()
    assert receipt["accepted"] == 5
    assert receipt["dead_letter"] == {
        "dead_letter": 3,
        "reasons": [{"reason": "exception record field exception.class must be a string, got int", "count": 3}],
        "other_reasons": 0,
    }
    report = pipeline.drain()
    assert (report.indexed, report.dead_lettered) == (2, 3)
