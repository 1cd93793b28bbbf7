"""`vigil ingest syslog` for real: TCP (both RFC 6587 framings), TLS, UDP, hostile input, and rsyslog's omfwd
shipping a real nginx access log and an exception log; every message indexed exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from elasticsearch import Elasticsearch

from siem import Pipeline, pipeline_status
from siem.inputs.syslog import SyslogCounters, SyslogReceiver, server_tls
from tests.siem.conftest import count_docs, nginx_line, shipper_port
from tests.siem.shippers import nginx_access_log, rsyslog, wait_until

pytestmark = pytest.mark.integration


class Running:
    def __init__(self, receiver: SyslogReceiver, port: int) -> None:
        self.receiver = receiver
        self.port = port
        self.counters: SyslogCounters | None = None


@contextmanager
def receiving(pipeline: Pipeline, tls: ssl.SSLContext | None = None, **options: float) -> Iterator[Running]:
    """A receiver on one TCP and the same UDP port, in a thread of its own; stopped (and flushed) on exit."""
    receiver = SyslogReceiver(pipeline, **options)  # type: ignore[arg-type]
    running = Running(receiver, shipper_port())
    ready = threading.Event()
    loop_box: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        stop = asyncio.Event()
        loop_box.append((asyncio.get_running_loop(), stop))
        running.counters = await receiver.run(
            tcp_port=running.port, udp_port=running.port, tls=tls, stop=stop, ready=ready.set
        )

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the receiver did not start"
    try:
        yield running
    finally:
        loop, stop = loop_box[0]
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=20)
        assert not thread.is_alive()


def send_tcp(port: int, payload: bytes, context: ssl.SSLContext | None = None) -> None:
    """Send and close gracefully (as rsyslog does): a sender that resets the connection (closing with unread
    TLS session tickets) throws away whatever the receiver's kernel still held for it."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        if context is None:
            raw.sendall(payload)
            raw.shutdown(socket.SHUT_WR)
            raw.recv(1)
            return
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(payload)
            tls.unwrap()


def octets(*messages: str) -> bytes:
    return b"".join(b"%d %s" % (len(m.encode()), m.encode()) for m in messages)


def test_both_framings_and_udp_reach_their_datasets_once(pipeline: Pipeline, es: Elasticsearch) -> None:
    with receiving(pipeline) as running:
        send_tcp(running.port, octets(*(f"<13>1 2026-12-01T10:00:00Z h app {n} - - counted {n}" for n in range(20))))
        send_tcp(
            running.port, "".join(f"<190>Dec  1 10:00:00 web nginx: {nginx_line(n)}\n" for n in range(30)).encode()
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for n in range(5):
                udp.sendto(
                    f'<11>1 - app1 billing - - - {{"error": {{"type": "E{n}"}}}}'.encode(), ("127.0.0.1", running.port)
                )
        wait_until(lambda: running.receiver.counters.queued >= 55, 20, "55 messages queued")
    assert running.counters is not None
    assert running.counters.dropped == 0
    pipeline.drain()
    assert count_docs(es, pipeline.layout.dataset_pattern("syslog")) == 20
    assert count_docs(es, pipeline.layout.dataset_pattern("access")) == 30
    assert count_docs(es, pipeline.layout.dataset_pattern("exception")) == 5
    hit = es.search(index=pipeline.layout.dataset_pattern("syslog"), query={"term": {"process.pid": 7}})["hits"]["hits"]
    assert [h["_source"]["message"] for h in hit] == ["counted 7"]
    assert hit[0]["_source"]["vigil"]["ingest"]["client"] == "syslog"


def _certificate(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_tls_rfc5425_and_hostile_frames(pipeline: Pipeline, es: Elasticsearch, tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    client = ssl.create_default_context(cafile=str(cert))
    with receiving(pipeline, tls=server_tls(str(cert), str(key))) as running:
        limit = pipeline.settings.max_line_bytes
        hostile = (
            octets("<13>1 - h a - - - before")
            + b"%d " % (limit + 1) + b"x" * (limit + 1)  # oversized, skipped by its count
            + octets("<13>1 - h a - - - after")
            + b"<13>1 - h a - - - bad utf-8 \xff\xfe\n"
        )  # fmt: skip
        send_tcp(running.port, hostile, client)
        send_tcp(running.port, b"99999999999 <13>x", client)  # a count no frame can have: closed, counted
        with contextlib.suppress(OSError):  # plaintext to the TLS port: the handshake fails, nothing is taken
            send_tcp(running.port, octets("<13>1 - h a - - - plaintext to a TLS port") * 50)
        wait_until(lambda: running.receiver.counters.queued >= 3, 20, "3 messages queued")
    counters = running.counters
    assert counters is not None
    assert counters.reasons == {"oversized": 1, "bad_framing": 1}
    assert pipeline.stream.stats()["syslog_dropped"] == 2
    assert pipeline_status(pipeline).syslog_dropped == 2  # /metrics: vigil_siem_events_syslog_dropped_total
    pipeline.drain()
    messages = sorted(
        h["_source"]["message"]
        for h in es.search(index=pipeline.layout.alias, size=10, query={"match_all": {}})["hits"]["hits"]
    )
    assert messages == ["after", "bad utf-8 \ufffd\ufffd", "before"]


def test_the_cli_refuses_a_taken_port_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", shipper_port()))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "vigil.cli", "ingest", "syslog", "--tcp", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert f"cannot listen on 127.0.0.1 (tcp {port}, udp None)" in result.stderr
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "vigil.cli",
            "ingest",
            "syslog",
            "--tcp",
            "18599",
            "--tls",
            "/nonexistent.pem",
            "/k.pem",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
    assert "cannot load the TLS certificate /nonexistent.pem" in missing.stderr


OMFWD = """
module(load="imfile")
input(type="imfile" file="{access}" tag="nginx" facility="local7" severity="info" ruleset="fwd")
input(type="imfile" file="{exceptions}" tag="billing" facility="local0" severity="err" ruleset="fwd")
ruleset(name="fwd") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" tcp_framing="octet-counted"
         template="RSYSLOG_SyslogProtocol23Format"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"""


def test_rsyslog_omfwd_ships_nginx_and_exception_logs_once(
    pipeline: Pipeline, es: Elasticsearch, tmp_path: Path
) -> None:
    exceptions = tmp_path / "exceptions.log"
    exceptions.write_text(
        "".join(
            json.dumps({"service": "billing", "request_id": f"req-{n}", "error": {"type": "KeyError"}}) + "\n"
            for n in range(40)
        ),
        encoding="utf-8",
    )
    with nginx_access_log(tmp_path / "nginx", 90) as access, receiving(pipeline) as running:
        config = OMFWD.format(access=access, exceptions=exceptions, port=running.port)
        with rsyslog(tmp_path / "rsyslog", config):
            wait_until(lambda: running.receiver.counters.queued >= 130, 60, "rsyslog's 130 messages")
    assert running.counters is not None
    assert (running.counters.received, running.counters.dropped) == (130, 0)
    pipeline.drain()
    assert count_docs(es, pipeline.layout.dataset_pattern("access")) == 90
    assert count_docs(es, pipeline.layout.dataset_pattern("exception")) == 40
    assert count_docs(es, pipeline.layout.dataset_pattern("syslog")) == 0
    one = es.search(index=pipeline.layout.alias, query={"term": {"http.request.id": "req-7"}})["hits"]["hits"]
    assert len(one) == 1
    assert one[0]["_source"]["log"]["syslog"]["facility"]["name"] == "local0"
    assert one[0]["_source"]["process"]["name"] == "billing"
    paths = es.search(
        index=pipeline.layout.dataset_pattern("access"), size=0, aggs={"p": {"cardinality": {"field": "url.path"}}}
    )["aggregations"]["p"]["value"]
    assert paths == 90


OMFWD_TLS = """
global(DefaultNetstreamDriverCAFile="{ca}")
module(load="imfile")
input(type="imfile" file="{exceptions}" tag="billing" facility="local0" severity="err" ruleset="fwd")
ruleset(name="fwd") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" tcp_framing="octet-counted"
         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="localhost" template="RSYSLOG_SyslogProtocol23Format"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"""


def test_rsyslog_omfwd_over_tls(pipeline: Pipeline, es: Elasticsearch, tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    exceptions = tmp_path / "exceptions.log"
    exceptions.write_text(
        "".join(json.dumps({"service": "billing", "error": {"type": f"E{n}"}}) + "\n" for n in range(25)),
        encoding="utf-8",
    )
    with receiving(pipeline, tls=server_tls(str(cert), str(key))) as running:
        config = OMFWD_TLS.format(ca=cert, exceptions=exceptions, port=running.port)
        with rsyslog(tmp_path / "rsyslog", config):
            wait_until(lambda: running.receiver.counters.queued >= 25, 60, "rsyslog's 25 messages over TLS")
    assert running.counters is not None
    assert (running.counters.received, running.counters.dropped) == (25, 0)
    pipeline.drain()
    assert count_docs(es, pipeline.layout.dataset_pattern("exception")) == 25
