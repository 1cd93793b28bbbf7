"""The Elasticsearch bulk door: the real `elasticsearch` client against a real uvicorn, Redis and Elasticsearch.

Hostile input (bad NDJSON, oversized, invalid UTF-8, unknown dataset, bad token) is refused precisely, and the
client's own retry of 429 items recovers with every document indexed exactly once.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from elasticsearch import AuthenticationException, AuthorizationException, Elasticsearch, helpers
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from siem import Pipeline
from siem.http import create_router, create_shipper_router, shipper_token
from siem.inputs.bulkapi import dataset_of_index
from tests.siem.conftest import count_docs, nginx_line, served
from vigil.problems import install_error_answers


def vigil_app(edge_auth: Any, pipeline: Pipeline) -> FastAPI:
    app = FastAPI()
    install_error_answers(app)
    app.include_router(create_router(edge_auth.guard, pipeline))
    app.include_router(create_shipper_router(edge_auth.guard, pipeline))
    return app


@pytest.fixture
def vigil_url(edge_auth: Any, pipeline: Pipeline) -> Iterator[str]:
    with served(vigil_app(edge_auth, pipeline)) as url:
        yield url


@pytest.fixture
def token(edge_auth: Any) -> str:
    return str(edge_auth.token(["ingest:write"], client_id="nginx-shipper"))


# -- pure: credentials and index names ----------------------------------------------------------------------------

TOKENS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=80)


@given(user=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":"), max_size=20),
       secret=TOKENS)  # fmt: skip
def test_basic_and_encoded_api_keys_carry_the_token(user: str, secret: str) -> None:
    encoded = base64.b64encode(f"{user}:{secret}".encode()).decode()
    assert shipper_token(f"Basic {encoded}") == secret
    assert shipper_token(f"ApiKey {encoded}") == secret


@given(st.text(max_size=120))
def test_any_header_gives_a_token_or_none_never_an_error(header: str) -> None:
    token = shipper_token(header)
    assert token is None or (token and " " not in token)


def test_a_bare_api_key_is_the_token_and_bearer_is_left_to_the_guard() -> None:
    assert shipper_token("ApiKey eyJhbGciOi.eyJzdWIi.c2ln") == "eyJhbGciOi.eyJzdWIi.c2ln"
    assert shipper_token("Bearer abc") is None
    assert shipper_token("Basic bm90LWEtcGFpcg==") is None  # base64 of a value without a colon


@pytest.mark.parametrize(
    ("index", "dataset"),
    [
        ("access", "access"),
        ("access-2026.12.01", "access"),
        ("ns-logs-exception-2026.12.01", "exception"),
        ("logs-access-default", "access"),
        ("auth", None),
        ("audit", None),
        ("accessory", None),
        ("", None),
    ],
)
def test_index_names_select_a_shipped_dataset(index: str, dataset: str | None) -> None:
    assert dataset_of_index(index, "ns") == dataset


# -- the real client -------------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_helpers_bulk_with_ids_indexes_each_document_once(
    pipeline: Pipeline, vigil_url: str, token: str, es: Elasticsearch
) -> None:
    client = Elasticsearch(vigil_url, api_key=("shipper", token))
    versions = {n["version"] for n in es.nodes.info(filter_path="nodes.*.version")["nodes"].values()}
    assert client.info()["version"]["number"] in versions
    actions = [{"_index": "access", "_id": f"line-{n}", "message": nginx_line(n)} for n in range(300)]
    assert helpers.bulk(client, actions, chunk_size=100) == (300, [])
    # A shipper that re-sends everything (a restart without a saved position) duplicates nothing.
    assert helpers.bulk(client, actions, chunk_size=100) == (300, [])
    pipeline.drain()
    assert count_docs(es, pipeline.layout.alias) == 300
    found = es.search(index=pipeline.layout.alias, query={"term": {"event.id": "line-7"}})["hits"]["hits"]
    assert [h["_id"] for h in found] == ["line-7"]
    assert found[0]["_source"]["url"]["path"] == "/orders/7"
    assert found[0]["_source"]["vigil"]["ingest"]["client"] == "nginx-shipper"


@pytest.mark.integration
def test_answered_ids_are_the_indexed_ids_and_vigil_dataset_selects(
    pipeline: Pipeline, vigil_url: str, token: str, es: Elasticsearch
) -> None:
    client = Elasticsearch(vigil_url, api_key=token)
    exception = {"error": {"type": "KeyError", "message": "missing"}, "service": "billing", "level": "error"}
    operations: list[dict[str, Any]] = [
        {"create": {"_index": "logs"}},
        {"vigil": {"dataset": "exception"}, **exception},
        {"index": {"_index": "access-2026.11.29"}},
        {"message": nginx_line(1)},
        {"index": {}},
        {"message": json.dumps({**exception, "error": {"type": "ValueError"}})},
    ]
    answer = client.bulk(operations=operations, index="exception")
    assert answer["errors"] is False
    assert [next(iter(i.values()))["status"] for i in answer["items"]] == [201, 201, 201]
    pipeline.drain()
    for item in answer["items"]:
        doc_id = next(iter(item.values()))["_id"]
        assert count_docs(es, pipeline.layout.alias, {"ids": {"values": [doc_id]}}) == 1
    assert count_docs(es, pipeline.layout.dataset_pattern("exception")) == 2
    assert count_docs(es, pipeline.layout.dataset_pattern("access")) == 1


@pytest.mark.integration
def test_items_that_can_never_succeed_are_refused_one_by_one(
    pipeline: Pipeline, vigil_url: str, token: str, es: Elasticsearch
) -> None:
    lines = [
        b'{"index":{"_index":"auth"}}',
        b'{"event":{"action":"token-issued"}}',
        b'{"index":{"_index":"access","_id":"a"}}',
        json.dumps({"message": nginx_line(1)}).encode(),
        b'{"create":{"_index":"access","_id":"a"}}',
        json.dumps({"message": nginx_line(2)}).encode(),
        b'{"index":{"_index":"access"}}',
        b'{"message": "\xff\xfe"}',
        b'{"index":{"_index":"access"}}',
        b"[1, 2]",
        b'{"delete":{"_index":"access","_id":"a"}}',
        b'{"update":{"_index":"access","_id":"b"}}',
        b'{"doc":{"message":"x"}}',
        b'{"index":{"_index":"access","_id":"' + b"x" * 600 + b'"}}',
        json.dumps({"message": nginx_line(3)}).encode(),
    ]
    response = httpx.post(
        f"{vigil_url}/_bulk", content=b"\n".join(lines) + b"\n", headers={"Authorization": f"ApiKey {token}"}
    )
    assert response.status_code == 200
    assert response.headers["x-elastic-product"] == "Elasticsearch"
    items = [next(iter(i.items())) for i in response.json()["items"]]
    assert [(op, body["status"]) for op, body in items] == [
        ("index", 400),
        ("index", 201),
        ("create", 409),
        ("index", 400),
        ("index", 400),
        ("delete", 400),
        ("update", 400),
        ("index", 400),
    ]
    assert "_id" not in items[0][1]  # refused, and no id was given
    reasons = [body.get("error", {}).get("reason", "") for _, body in items]
    assert "open to shippers" in reasons[0]
    assert "UTF-8" in reasons[3]
    assert "append-only" in reasons[5]
    assert response.json()["errors"] is True
    pipeline.drain()
    assert count_docs(es, pipeline.layout.alias) == 1


GOOD = "good"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("body", "authorization", "headers", "status", "detail"),
    [
        (b'{"index":{}}\n{"message":"x"}\n', "ApiKey not-a-token", {}, 401, None),
        (b'{"index":{}}\n{"message":"x"}\n', None, {}, 401, None),
        (b"not json\n", GOOD, {}, 400, "line 1 (action) is not JSON"),
        (b'{"index":{},"create":{}}\n{}\n', GOOD, {}, 400, "one object with one key"),
        (b'{"upsert":{}}\n{}\n', GOOD, {}, 400, "unknown action 'upsert'"),
        (b'{"index":{"_index":"access"}}\n', GOOD, {}, 400, "without a source line"),
        (b'{"index":{}}\n{"message":"x"}\n', GOOD, {"Content-Encoding": "gzip"}, 400, "not valid gzip"),
        (b"\n\n", GOOD, {}, 400, "no actions"),
        (b"x" * (1024 * 1024 + 1), GOOD, {}, 413, "exceeds"),
    ],
)
def test_requests_that_cannot_be_read_are_refused_whole(
    queue_only: Pipeline,
    edge_auth: Any,
    token: str,
    body: bytes,
    authorization: str | None,
    headers: dict[str, str],
    status: int,
    detail: str | None,
) -> None:
    pipeline = queue_only
    sent = dict(headers)
    if authorization is not None:
        sent["Authorization"] = f"ApiKey {token}" if authorization == GOOD else authorization
    with served(vigil_app(edge_auth, pipeline)) as url:
        response = httpx.post(f"{url}/_bulk", content=body, headers=sent)
    assert response.status_code == status, response.text
    if detail is not None:
        # Elasticsearch's own error body: the shipper's client decodes it into its exception.
        assert detail in response.json()["error"]["reason"]
        assert response.json()["status"] == status
    assert pipeline.stream.depth() == 0


@pytest.mark.integration
def test_a_wrong_token_fails_the_client_cleanly(pipeline: Pipeline, vigil_url: str, edge_auth: Any) -> None:
    client = Elasticsearch(vigil_url, api_key=edge_auth.token(["alerts:read"]))
    with pytest.raises(AuthorizationException):
        client.bulk(operations=[{"index": {"_index": "access"}}, {"message": nginx_line(1)}])
    with pytest.raises(AuthenticationException):
        Elasticsearch(vigil_url, basic_auth=("shipper", "wrong")).info()


@pytest.mark.integration
def test_startup_probes_answer_as_shippers_expect(pipeline: Pipeline, vigil_url: str, token: str) -> None:
    auth = {"Authorization": f"ApiKey {token}"}
    for method, path, status in [
        ("GET", "/_license", 200),
        ("GET", "/_xpack", 200),
        ("GET", "/_cat/health", 200),
        ("HEAD", "/_index_template/filebeat-8", 200),
        ("GET", "/_index_template/filebeat-8", 200),
        ("HEAD", "/_template/logstash", 200),
        ("HEAD", "/_ilm/policy/filebeat", 200),
        ("HEAD", "/access", 200),
        ("HEAD", "/auth", 404),
    ]:
        response = httpx.request(method, f"{vigil_url}{path}", headers=auth)
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["x-elastic-product"] == "Elasticsearch"
    assert httpx.get(f"{vigil_url}/_license").status_code == 401
    assert httpx.get(f"{vigil_url}/_license", headers=auth).json()["license"]["status"] == "active"


@pytest.mark.integration
def test_the_clients_retry_of_429_items_recovers_exactly_once(
    make_pipeline: Callable[..., Pipeline], edge_auth: Any, token: str, es: Elasticsearch
) -> None:
    pipeline = make_pipeline(high_water_mark=150, chunk_records=50)
    stop = threading.Event()

    def worker() -> None:
        # A slow worker: the queue stays near its mark, so some chunks are answered 429 and retried by the client.
        while not stop.wait(0.3):
            pipeline.run_once()

    thread = threading.Thread(target=worker, daemon=True)
    with served(vigil_app(edge_auth, pipeline)) as url:
        client = Elasticsearch(url, api_key=token)
        actions = [{"_index": "access", "_id": f"r{n}", "message": nginx_line(n)} for n in range(600)]
        thread.start()
        try:
            # The helper retries 429 items only when it does not raise on the first failed item.
            ok, errors = helpers.bulk(
                client, actions, chunk_size=100, max_retries=30, initial_backoff=0.2, raise_on_error=False
            )
        finally:
            stop.set()
            thread.join(timeout=10)
    assert (ok, errors) == (600, [])
    assert pipeline.stream.stats().get("rejected", 0) > 0  # some were really refused and retried
    pipeline.drain()
    assert count_docs(es, pipeline.layout.alias) == 600
