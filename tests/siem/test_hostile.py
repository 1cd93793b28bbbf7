"""Hostile input at every door at once: credentials (missing, garbage, expired, another issuer's key, wrong
audience, wrong scope) in every scheme each door reads, bodies that cannot be read, and the syslog receiver's
frames. Each is refused precisely, the app keeps serving (no crash loop), and nothing of a refused request is
queued while everything accepted arrives. Offenders are reported together, in one message."""

from __future__ import annotations

import base64
import gzip
import json
import socket
import time
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from fastapi import FastAPI

from edgeauth import SigningKey, mint_access_token
from siem import Pipeline
from siem.http import create_otlp_router, create_router, create_shipper_router
from tests.siem.conftest import count_docs, nginx_line, served
from tests.siem.shippers import wait_until
from tests.siem.test_syslog import receiving, send_tcp
from vigil.problems import install_error_answers

pytestmark = pytest.mark.integration

BULK = (json.dumps({"index": {"_index": "access"}}) + "\n" + json.dumps({"message": nginx_line(1)}) + "\n").encode()
OTLP = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "hello"}}]}]}]}).encode()
#: door: (path, body, content type, the status of a good request)
DOORS = {
    "ingest": ("/ingest/access", nginx_line(1).encode(), "text/plain", 202),
    "bulk": ("/_bulk", BULK, "application/x-ndjson", 200),
    "otlp": ("/v1/logs", OTLP, "application/json", 200),
}


def all_doors(edge_auth: Any, pipeline: Pipeline) -> FastAPI:
    app = FastAPI()
    install_error_answers(app)
    app.include_router(create_router(edge_auth.guard, pipeline))
    app.include_router(create_shipper_router(edge_auth.guard, pipeline))
    app.include_router(create_otlp_router(edge_auth.guard, pipeline))
    return app


def _schemes(token: str) -> dict[str, str]:
    """Every form a shipper door reads a token in (`POST /ingest` reads only Bearer)."""
    return {
        "bearer": f"Bearer {token}",
        "apikey": f"ApiKey {token}",
        "apikey-pair": "ApiKey " + base64.b64encode(f"shipper:{token}".encode()).decode(),
        "basic": "Basic " + base64.b64encode(f"shipper:{token}".encode()).decode(),
    }


def test_every_bad_credential_is_refused_at_every_door(queue_only: Pipeline, edge_auth: Any) -> None:
    stranger = SigningKey.generate("RS256")
    now = int(time.time())
    bad = {
        "garbage": "not.a.token",
        "expired": edge_auth.token(["ingest:write"], now=now - 3600, ttl=60),
        "not-yet-valid": edge_auth.token(["ingest:write"], now=now + 3600),
        "another-key": mint_access_token(
            stranger, issuer=edge_auth.settings.issuer, audience="vigil", client_id="x", subject="x",
            scopes=["ingest:write"], ttl=600,
        ),
        "wrong-audience": edge_auth.token(["ingest:write"], aud="somebody-else"),
        "wrong-scope": edge_auth.token(["alerts:read"]),
    }  # fmt: skip
    offenders: list[str] = []
    with served(all_doors(edge_auth, queue_only)) as url, httpx.Client(base_url=url, timeout=30) as client:
        for door, (path, body, media, _) in DOORS.items():
            schemes = ["bearer"] if door == "ingest" else list(_schemes("t"))
            attempts: list[tuple[str, dict[str, str], int]] = [("missing", {}, 401)]
            for case, token in bad.items():
                expected = 403 if case == "wrong-scope" else 401
                attempts += [(f"{case}/{s}", {"Authorization": _schemes(token)[s]}, expected) for s in schemes]
            for case, headers, expected in attempts:
                response = client.post(path, content=body, headers={"Content-Type": media, **headers})
                challenge = response.headers.get("www-authenticate", "")
                if response.status_code != expected or not challenge.startswith("Bearer"):
                    offenders.append(f"{door} {case}: {response.status_code} {challenge!r} {response.text[:120]}")
        assert queue_only.stream.depth() == 0, "a refused request queued something"
        good = edge_auth.token(["ingest:write"])
        for door, (path, body, media, status) in DOORS.items():  # still serving: no crash, no stuck worker thread
            response = client.post(
                path, content=body, headers={"Content-Type": media, "Authorization": f"Bearer {good}"}
            )
            if response.status_code != status:
                offenders.append(f"{door} good token after the hostile ones: {response.status_code} {response.text}")
    assert not offenders, "\n".join(offenders)
    assert queue_only.stream.depth() == 3


def test_unreadable_bodies_are_refused_precisely_at_every_door(queue_only: Pipeline, edge_auth: Any) -> None:
    limit = queue_only.settings.max_request_bytes
    cases: list[tuple[str, str, bytes, dict[str, str], int, str]] = [
        # door, what, body, headers, status, words of the reason
        ("ingest", "oversized", b"x" * (limit + 1), {}, 413, "exceeds"),
        ("ingest", "gzip bomb", gzip.compress(b"x\n" * limit), {"Content-Encoding": "gzip"}, 413, "exceeds"),
        ("ingest", "unknown encoding", b"x", {"Content-Encoding": "br"}, 400, "not supported"),
        ("bulk", "oversized", b"x" * (limit + 1), {}, 413, "exceeds"),
        ("bulk", "gzip bomb", gzip.compress(b"{}\n" * limit), {"Content-Encoding": "gzip"}, 413, "exceeds"),
        ("bulk", "action not UTF-8", b'{"index":{"_index":"\xff"}}\n{}\n', {}, 400, "UTF-8"),
        ("bulk", "action nested too deep", b"[" * 100_000 + b"\n{}\n", {}, 400, "line 1"),
        ("otlp", "oversized", b"x" * (limit + 1), {"Content-Type": "application/json"}, 413, "exceeds"),
        ("otlp", "JSON not UTF-8", b'{"resourceLogs": ["\xff"]}', {"Content-Type": "application/json"}, 400, "OTLP"),
        ("otlp", "protobuf string not UTF-8", b"\x0a\x06\x12\x04\x0a\x02\xff\xfe",
         {"Content-Type": "application/x-protobuf"}, 400, "OTLP"),
    ]  # fmt: skip
    token = edge_auth.token(["ingest:write"])
    offenders: list[str] = []
    with served(all_doors(edge_auth, queue_only)) as url, httpx.Client(base_url=url, timeout=60) as client:
        for door, what, body, headers, status, words in cases:
            path, _, media, _ = DOORS[door]
            sent = {"Content-Type": media, "Authorization": f"Bearer {token}", **headers}
            response = client.post(path, content=body, headers=sent)
            text = response.text
            if response.status_code != status or words not in text:
                offenders.append(f"{door} {what}: {response.status_code} {text[:160]}")
    assert not offenders, "\n".join(offenders)
    assert queue_only.stream.depth() == 0


def test_a_full_queue_answers_each_door_in_its_own_protocol(make_pipeline: Any, edge_auth: Any) -> None:
    pipeline = make_pipeline(high_water_mark=1)
    pipeline.push("nginx", [nginx_line(0)])  # at the mark: the next record is refused
    token = edge_auth.token(["ingest:write"])
    with served(all_doors(edge_auth, pipeline)) as url, httpx.Client(base_url=url, timeout=30) as client:
        auth = {"Authorization": f"Bearer {token}"}
        ingest = client.post("/ingest/access", content=nginx_line(1), headers=auth)
        assert (ingest.status_code, ingest.headers["retry-after"]) == (429, str(pipeline.settings.retry_after_seconds))
        otlp = client.post("/v1/logs", content=OTLP, headers={**auth, "Content-Type": "application/json"})
        assert (otlp.status_code, otlp.headers["retry-after"]) == (429, str(pipeline.settings.retry_after_seconds))
        bulk = client.post("/_bulk", content=BULK, headers=auth)
        assert bulk.status_code == 200  # Elasticsearch's shape: the refusal is the item's, so shippers retry it
        assert [i["index"]["status"] for i in bulk.json()["items"]] == [429]
        assert bulk.json()["items"][0]["index"]["error"]["type"] == "es_rejected_execution_exception"
        whole = client.post("/_bulk", params={"refusal": "request"}, content=BULK, headers=auth)
        assert (whole.status_code, whole.headers["retry-after"]) == (429, str(pipeline.settings.retry_after_seconds))
        assert whole.json()["status"] == 429  # Elasticsearch's error body
        assert client.post("/_bulk", params={"refusal": "never"}, content=BULK, headers=auth).status_code == 422
    assert pipeline.stream.depth() == 1


def test_the_syslog_receiver_survives_hostile_senders_and_keeps_what_it_took(
    make_pipeline: Any, es: Elasticsearch
) -> None:
    pipeline = make_pipeline(max_line_bytes=8192)  # below the largest UDP datagram, so one can be oversized
    limit = pipeline.settings.max_line_bytes
    with receiving(pipeline) as running:
        for _ in range(20):  # a burst of broken connections: each closed, none stops the listener
            send_tcp(running.port, b"12x34 <13>broken count")
        send_tcp(
            running.port, b"<13>1 - h a - - - line-before\n" + b"y" * (limit + 10) + b"\n<13>1 - h a - - - line-after\n"
        )
        send_tcp(running.port, b"not syslog at all\n")  # taken; its record goes to the dead letter, not lost
        raw = b"<13>1 - h a - - - \xff"  # octet-counted, not UTF-8
        send_tcp(running.port, b"%d %s" % (len(raw), raw))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(b"<13>1 - h a - - - " + b"z" * (limit + 1), ("127.0.0.1", running.port))
            udp.sendto(b"<13>1 - h a - - - udp \xc3\x28", ("127.0.0.1", running.port))
        with socket.create_connection(("127.0.0.1", running.port)) as half:  # a sender that vanishes mid-frame
            half.sendall(b"500 <13>1 - h a - - - cut short")
        wait_until(lambda: running.receiver.counters.queued >= 6, 20, "the 6 readable messages")
    counters = running.counters
    assert counters is not None
    assert counters.reasons == {"bad_framing": 20, "oversized": 2}
    assert counters.queued == counters.received == 6
    report = pipeline.drain()
    assert report.dead_lettered == 1
    messages = sorted(
        h["_source"]["message"]
        for h in es.search(index=pipeline.layout.alias, size=10, query={"match_all": {}})["hits"]["hits"]
    )
    assert messages == ["cut short", "line-after", "line-before", "udp \ufffd(", "\ufffd"]
    assert count_docs(es, pipeline.layout.alias) == 5
