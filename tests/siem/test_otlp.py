"""`POST /v1/logs`: the OpenTelemetry Python SDK's OTLP/HTTP exporter (protobuf) and OTLP JSON into Vigil, mapped
to ECS with trace and span ids kept; hostile requests refused precisely."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from siem import Pipeline
from siem.http import create_otlp_router
from siem.parsers import parse_record
from tests.siem.conftest import count_docs, served
from vigil.problems import install_error_answers

pytestmark = pytest.mark.integration


def otlp_app(edge_auth: Any, pipeline: Pipeline) -> FastAPI:
    app = FastAPI()
    install_error_answers(app)
    app.include_router(create_otlp_router(edge_auth.guard, pipeline))
    return app


@pytest.fixture
def vigil_url(edge_auth: Any, pipeline: Pipeline) -> Iterator[str]:
    with served(otlp_app(edge_auth, pipeline)) as url:
        yield url


def test_the_sdk_exporter_ships_logs_and_exceptions_with_their_trace(
    pipeline: Pipeline, vigil_url: str, edge_auth: Any, es: Elasticsearch
) -> None:
    token = edge_auth.token(["ingest:write"], client_id="billing-otel")
    resource = Resource.create({"service.name": "billing", "host.name": "app-7", "deployment.environment": "prod"})
    provider = LoggerProvider(resource=resource)
    exporter = OTLPLogExporter(
        endpoint=f"{vigil_url}/v1/logs", headers={"Authorization": f"Bearer {token}"}, compression=Compression.Gzip
    )
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    logger = logging.getLogger("billing.charges")
    logger.propagate = False
    handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    logger.addHandler(handler)
    tracer = TracerProvider(resource=resource).get_tracer("billing")
    try:
        with tracer.start_as_current_span("charge") as span:
            for n in range(25):
                logger.warning("charge %d retried", n, extra={"order.id": f"o-{n}"})
            try:
                raise KeyError("card")
            except KeyError:
                logger.exception("charge failed")
        assert provider.force_flush(20_000)
    finally:
        logger.removeHandler(handler)
        provider.shutdown()
    trace_id = format(span.get_span_context().trace_id, "032x")
    span_id = format(span.get_span_context().span_id, "016x")
    pipeline.drain()
    assert count_docs(es, pipeline.layout.dataset_pattern("otel")) == 25
    assert count_docs(es, pipeline.layout.alias, {"term": {"trace.id": trace_id}}) == 26
    failure = es.search(index=pipeline.layout.dataset_pattern("exception"), query={"match_all": {}})["hits"]["hits"]
    assert len(failure) == 1
    doc = failure[0]["_source"]
    assert (doc["error"]["type"], doc["trace"]["id"], doc["span"]["id"]) == ("KeyError", trace_id, span_id)
    assert "raise KeyError" in doc["error"]["stack_trace"]
    assert (doc["service"]["name"], doc["host"]["hostname"], doc["log"]["logger"]) == (
        "billing",
        "app-7",
        "billing.charges",
    )
    assert doc["vigil"]["ingest"]["client"] == "billing-otel"
    one = es.search(
        index=pipeline.layout.dataset_pattern("otel"), query={"term": {"vigil.otel.attributes.order.id": "o-3"}}
    )["hits"]["hits"]
    assert [h["_source"]["message"] for h in one] == ["charge 3 retried"]
    assert one[0]["_source"]["log"]["level"] == "warn"
    assert one[0]["_source"]["event"]["severity"] == 13


def _json_request(body: Any, **record: Any) -> dict[str, Any]:
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
                "scopeLogs": [
                    {
                        "scope": {"name": "web.requests", "version": "1.2"},
                        "logRecords": [
                            {
                                "timeUnixNano": "1764590400000000000",
                                "severityNumber": 9,
                                "body": body,
                                "traceId": "5B8EFFF798038103D269B633813FC60C",
                                "spanId": "EEE19B7EC3C1B174",
                                "attributes": [
                                    {"key": "retries", "value": {"intValue": "3"}},
                                    {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}]}}},
                                ],
                                **record,
                            }
                        ],
                    }
                ],
            }
        ]
    }


def test_otlp_json_and_partial_success(pipeline: Pipeline, vigil_url: str, edge_auth: Any, es: Elasticsearch) -> None:
    auth = {"Authorization": f"ApiKey {edge_auth.token(['ingest:write'])}", "Content-Type": "application/json"}
    response = httpx.post(f"{vigil_url}/v1/logs", json=_json_request({"kvlistValue": {"values": []}}), headers=auth)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    big = {"stringValue": "x" * (pipeline.settings.max_line_bytes + 1)}
    partial = httpx.post(f"{vigil_url}/v1/logs", json=_json_request(big), headers=auth)
    assert partial.status_code == 200
    assert partial.json()["partialSuccess"]["rejectedLogRecords"] == "1"
    pipeline.drain()
    hits = es.search(index=pipeline.layout.alias, query={"match_all": {}})["hits"]["hits"]
    assert len(hits) == 1
    doc = hits[0]["_source"]
    assert (doc["trace"]["id"], doc["span"]["id"]) == ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")
    assert doc["@timestamp"] == "2025-12-01T12:00:00Z"
    assert doc["vigil"]["otel"]["scope"] == {"name": "web.requests", "version": "1.2"}
    assert doc["log"]["level"] == "info"


@pytest.mark.parametrize(
    ("body", "content_type", "authorization", "status", "reason"),
    [
        (b"\xff\xff\xff", "application/x-protobuf", True, 400, "not an OTLP ExportLogsServiceRequest"),
        (b"{not json", "application/json", True, 400, "not OTLP JSON"),
        (b"[]", "application/json", True, 400, "top level must be an object"),
        (b'{"resourceLogs": "x"}', "application/json", True, 400, "not OTLP logs"),
        (b"x", "text/plain", True, 400, "is not OTLP"),
        (b"{}", "application/json", False, 401, None),
    ],
)
def test_hostile_export_requests_are_refused(
    queue_only: Pipeline,
    edge_auth: Any,
    body: bytes,
    content_type: str,
    authorization: bool,
    status: int,
    reason: str | None,
) -> None:
    headers = {"Content-Type": content_type}
    if authorization:
        headers["Authorization"] = f"Bearer {edge_auth.token(['ingest:write'])}"
    with served(otlp_app(edge_auth, queue_only)) as url:
        response = httpx.post(f"{url}/v1/logs", content=body, headers=headers)
    assert response.status_code == status, response.text
    if reason is not None:
        assert reason in response.json()["detail"]
    assert queue_only.stream.depth() == 0


def test_an_empty_protobuf_export_is_a_success(queue_only: Pipeline, edge_auth: Any) -> None:
    headers = {"Authorization": f"Bearer {edge_auth.token(['ingest:write'])}", "Content-Type": "application/x-protobuf"}
    headers["Content-Encoding"] = "gzip"
    with served(otlp_app(edge_auth, queue_only)) as url:
        response = httpx.post(f"{url}/v1/logs", content=gzip.compress(b""), headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    assert not ExportLogsServiceResponse.FromString(response.content).HasField("partial_success")


def test_records_without_time_or_with_odd_values_still_map() -> None:
    record = json.dumps({"resource": {"process.pid": True}, "severity_number": 99, "body": ["a", 1], "attributes": {}})
    doc = parse_record("otel", record, event_id="e", received=datetime(2026, 1, 1, tzinfo=UTC))
    assert doc["message"] == '["a",1]'
    assert "process" not in doc
    assert "severity" not in doc["event"]
