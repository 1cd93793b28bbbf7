"""Vigil's bundled rules, each with positive and negative events sent through the real ingest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from detections import Detections
from siem import Pipeline
from tests.detections.conftest import Sender, alerts_of, later

pytestmark = pytest.mark.integration

ALG_CONFUSION = "0f3559a1-67b4-4a1a-8a6c-593799d352bb"
FORGERY_BURST = "ce500df6-15fa-4ecc-aacb-bd53d5d0d92b"
REVOKED = "df625dc4-22a0-452e-9119-597f91a3ccc1"
STUFFING = "b1abf103-1abb-492e-9cac-5039327a745b"
NEW_SCOPE = "cc5c1082-aaf2-49b9-8f75-4d73f9f9e789"
SCANNER = "ac205f40-caa4-4100-a77d-592b520fcf38"
EXC_BURST = "c1e791f7-dfeb-461e-b203-aa6d59bd5a49"
PAYLOAD = "6841cf73-fec8-442b-a1a5-a7e32b81fd29"


def decision(
    reason: str, ip: str, *, outcome: str = "failure", action: str = "verify", **extra: object
) -> dict[str, object]:
    return {"outcome": outcome, "reason": reason, "source_ip": ip, "action": action, "path": "/api", **extra}


def groups(det: Detections, rule_id: str) -> set[str]:
    return {a.group_key for a in alerts_of(det, rule_id)}


def test_alg_confusion_and_forgery_burst(sender: Sender, make_detections: Callable[..., Detections]) -> None:
    sender.send(
        "auth",
        [
            decision("alg_not_allowed", "203.0.113.5", alg="HS256"),
            decision("bad_signature", "203.0.113.5", kid="k1"),
            decision("unknown_kid", "203.0.113.5", kid="nope"),
            # negatives: forgery signals spread over sources, and ordinary failures
            decision("bad_signature", "198.51.100.1"),
            decision("unknown_kid", "198.51.100.2"),
            decision("expired", "198.51.100.3"),
            decision("expired", "198.51.100.3"),
            decision("expired", "198.51.100.3"),
        ],
    )
    det = make_detections()
    report = det.run_cycle(later())
    assert not report.errors
    assert groups(det, ALG_CONFUSION) == {"source.ip=203.0.113.5"}
    assert groups(det, FORGERY_BURST) == {"source.ip=203.0.113.5"}
    burst = alerts_of(det, FORGERY_BURST)[0]
    assert burst.count == 3
    assert len(burst.event_ids) == 3
    assert "attack.t1606.001" in burst.attack


def test_revoked_token_replay(sender: Sender, make_detections: Callable[..., Detections]) -> None:
    sender.send(
        "auth",
        [
            decision("revoked", "203.0.113.9", jti="jti-stolen"),
            decision("revoked", "203.0.113.10", jti="jti-stolen"),
            decision("ok", "203.0.113.9", outcome="success", jti="jti-fine"),
        ],
    )
    det = make_detections()
    det.run_cycle(later())
    alerts = alerts_of(det, REVOKED)
    assert [(a.group_key, a.count) for a in alerts] == [("vigil.auth.jti=jti-stolen", 2)]


def test_credential_stuffing_on_the_token_endpoint(sender: Sender, make_detections: Callable[..., Detections]) -> None:
    stuffing = [decision("invalid_client", "192.0.2.50", action="token", client_id=f"client-{i}") for i in range(5)]
    one_client = [decision("invalid_client", "192.0.2.60", action="token", client_id="typo-client") for _ in range(6)]
    sender.send("auth", stuffing + one_client)
    det = make_detections()
    det.run_cycle(later())
    assert groups(det, STUFFING) == {"source.ip=192.0.2.50"}


def test_a_client_using_a_scope_it_never_used(sender: Sender, make_detections: Callable[..., Detections]) -> None:
    def verified(client: str, scopes: list[str]) -> dict[str, object]:
        return decision("ok", "10.0.0.8", outcome="success", client_id=client, scopes=scopes)

    sender.send("auth", [verified("billing", ["alerts:read"]), verified("billing", ["alerts:read"])])
    det = make_detections()
    det.run_cycle(later())
    assert alerts_of(det, NEW_SCOPE) == []  # learning: nothing known yet
    sender.send(
        "auth",
        [
            verified("billing", ["alerts:read", "rules:admin"]),  # positive: a new scope for a known client
            verified("billing", ["alerts:read"]),  # negative: a known scope
            verified("fresh-client", ["admin"]),  # negative: no history yet for this client
        ],
    )
    det.run_cycle(later(), force=True)
    alerts = alerts_of(det, NEW_SCOPE)
    assert len(alerts) == 1
    assert "rules:admin" in alerts[0].summary
    assert "billing" in alerts[0].group_key


def test_scanner_user_agents(sender: Sender, make_detections: Callable[..., Detections]) -> None:
    def request(ip: str, agent: str) -> dict[str, object]:
        return {"method": "GET", "path": "/login", "status": 404, "remote_ip": ip, "user_agent": agent}

    sender.send(
        "json",
        [
            request("192.0.2.1", "sqlmap/1.7.2#stable (https://sqlmap.org)"),
            request("192.0.2.2", "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None)"),
            request("192.0.2.3", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"),
        ],
    )
    det = make_detections()
    det.run_cycle(later())
    assert groups(det, SCANNER) == {"source.ip=192.0.2.1", "source.ip=192.0.2.2"}


def test_burst_of_one_exception_type(sender: Sender, make_detections: Callable[..., Detections]) -> None:
    def exception(kind: str, n: int) -> dict[str, object]:
        return {"error": {"type": kind, "message": f"boom {n}"}, "service": "shop", "request_id": f"r-{kind}-{n}"}

    sender.send("exception", [exception("NoMethodError", n) for n in range(20)])
    sender.send("exception", [exception("KeyError", n) for n in range(19)])
    det = make_detections()
    det.run_cycle(later())
    assert groups(det, EXC_BURST) == {"error.type=nomethoderror"}


def test_payload_reached_the_code(sender: Sender, make_detections: Callable[..., Detections]) -> None:
    def access(rid: str, path: str) -> dict[str, object]:
        return {"method": "GET", "path": path, "status": 500, "remote_ip": "192.0.2.77", "request_id": rid}

    def exception(rid: str) -> dict[str, object]:
        return {"error": {"type": "ActiveRecord::StatementInvalid", "message": "syntax error"}, "request_id": rid}

    sender.send(
        "json",
        [
            access("req-hit", "/items?id=1' OR '1'='1"),
            access("req-blocked", "/items?id=1 UNION SELECT password FROM users"),
            access("req-clean", "/items?id=42"),
        ],
    )
    sender.send("exception", [exception("req-hit"), exception("req-clean")])
    det = make_detections()
    det.run_cycle(later())
    assert groups(det, PAYLOAD) == {"http.request.id=req-hit"}


def test_late_events_are_found_by_ingest_time(sender: Sender, make_detections: Callable[..., Detections]) -> None:
    det = make_detections()
    det.run_cycle(later())
    # an event that happened an hour ago but reaches the SIEM only now
    sender.send("auth", [decision("revoked", "203.0.113.44", jti="late")], at=datetime.now(UTC) - timedelta(hours=1))
    det.run_cycle(later(), force=True)
    assert groups(det, REVOKED) == {"vigil.auth.jti=late"}


def test_payload_reached_the_code_on_plain_nginx_lines_joins_on_client_method_and_path(
    pipeline: Pipeline, sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    now = datetime.now(UTC)
    stamp = now.strftime("%d/%b/%Y:%H:%M:%S +0000")

    def combined(ip: str, target: str, extra: str = "") -> str:
        return f'{ip} - - [{stamp}] "GET {target} HTTP/1.1" 500 12 "-" "curl/8.5.0"{extra}'

    def exception(ip: str, path: str, rid: str) -> dict[str, object]:
        error = {"type": "ActiveRecord::StatementInvalid", "message": "syntax error"}
        return {"error": error, "request_id": rid, "remote_ip": ip, "method": "GET", "path": path}

    # plain combined lines: no request id on the access side
    pipeline.push(
        "nginx",
        [
            combined("192.0.2.80", "/items?id=1'%20or%20'1'='1"),
            combined("192.0.2.81", "/search?q=<script>alert(1)</script>"),
            # with the documented log_format the request id is there: the main join alerts, the fallback does not
            combined("192.0.2.82", "/files?name=../../etc/passwd", " rt=0.012 rid=4f1c9e0b2a7d4e6f8a9b0c1d2e3f4a5b"),
        ],
    )
    assert pipeline.drain().indexed == 3
    sender.send(
        "exception",
        [
            exception("192.0.2.80", "/items", "rails-req-1"),  # same client, method and path: joined
            exception("192.0.2.81", "/elsewhere", "rails-req-2"),  # same client, another path: not joined
            exception("192.0.2.82", "/files", "4f1c9e0b2a7d4e6f8a9b0c1d2e3f4a5b"),
        ],
        at=now,
    )
    det = make_detections()
    det.run_cycle(later())
    alerts = {a.group_key: a for a in alerts_of(det, PAYLOAD)}
    assert set(alerts) == {
        "source.ip=192.0.2.80|http.request.method=get|url.path=/items",
        "http.request.id=4f1c9e0b2a7d4e6f8a9b0c1d2e3f4a5b",
    }
    fallback = alerts["source.ip=192.0.2.80|http.request.method=get|url.path=/items"]
    assert "joined on source.ip, http.request.method, url.path (fallback: no http.request.id)" in fallback.summary
    assert fallback.count == 2
    assert "joined on http.request.id" in alerts["http.request.id=4f1c9e0b2a7d4e6f8a9b0c1d2e3f4a5b"].summary
