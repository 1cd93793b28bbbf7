"""Limits before work (issue 13, item 6): every body bounded while it streams, an anonymous one refused unread.

A real uvicorn serves the real app on loopback; bodies go over a raw socket so the test controls how much is sent.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.fixtures.loopback import served_on
from vigil.app import create_app
from vigil.settings import VigilSettings

pytestmark = pytest.mark.integration

PORT = 18431
MIB = 1 << 20


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture(scope="module")
def app(settings: VigilSettings, edge_auth: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    scoped = settings.in_namespace(f"tlim{int(time.time() * 1000) % 10**8}")
    with served_on(create_app(scoped, guard=edge_auth.guard), PORT):
        yield create_app(scoped, guard=edge_auth.guard)


def streamed(path: str, headers: dict[str, str], total: int, *, chunked: bool = True) -> tuple[int, float, int]:
    """POST `total` bytes to `path` in 1 MiB pieces from a thread; (status, seconds to the answer, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=30)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sent = [0]

    def send() -> None:
        piece = b"x" * MIB
        try:
            while sent[0] < total:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent[0] += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            return  # the server answered and closed: exactly what should happen

    started = time.monotonic()
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{framing}\r\n{head}\r\n".encode()
    )
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = sock.recv(4096)
    elapsed = time.monotonic() - started
    sock.close()
    sender.join(timeout=30)
    return int(answer.split(b" ", 2)[1]), elapsed, sent[0]


@pytest.mark.usefixtures("app")
def test_a_300_mib_body_without_a_token_is_401_unread() -> None:
    before = rss_bytes()
    for path in ("/evidence/bundles", "/detections/exceptions", "/ingest/access"):
        status, seconds, sent = streamed(path, {}, 300 * MIB)
        assert status == 401, path
        assert seconds < 5, f"{path}: {seconds:.1f}s to answer"
        assert sent < 300 * MIB, f"{path}: the whole body was taken before the answer"
    declared, _, _ = streamed("/evidence/bundles", {}, 300 * MIB, chunked=False)
    assert declared == 401
    assert rss_bytes() - before < 64 * MIB


@pytest.mark.usefixtures("app")
def test_bodies_over_the_limit_are_413_while_they_stream(edge_auth: Any, settings: VigilSettings) -> None:
    bearer = {"Authorization": f"Bearer {edge_auth.token(['evidence:read', 'ingest:write'])}"}
    over = settings.max_body_bytes + MIB
    assert streamed("/evidence/bundles", bearer, over)[0] == 413  # chunked: counted as it arrives
    assert streamed("/evidence/bundles", bearer, over, chunked=False)[0] == 413  # declared: refused unread
    ingest_over = settings.siem.max_request_bytes + MIB
    assert streamed("/ingest/access", bearer, ingest_over, chunked=False)[0] == 413
    assert streamed("/ingest/access", bearer, ingest_over)[0] == 413  # the ingest route counts its own stream


def test_a_small_body_still_reaches_its_route(app: FastAPI, edge_auth: Any) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)
    token = edge_auth.token(["evidence:read"])
    response = client.post(
        "/evidence/bundles",
        json={"from": "not a date", "to": "2026-02-01T00:00:00Z"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422  # validated by the route after the middleware replayed the body
    assert client.post("/evidence/bundles", content=b"{}", headers={"Content-Length": "x1"}).status_code in {400, 401}
