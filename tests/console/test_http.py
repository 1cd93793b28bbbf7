"""The console over HTTP (no browser): sign-in, sessions, CSRF, role gating and hostile input, real services."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from compliance.sla import CanaryRun, ProbeResult, SlaObjectives, StepResult
from detections import AlertFilter
from tests.console.conftest import ANALYST, AUDITOR, REVOKED_RULE, World
from tests.fixtures.edgeauth import EdgeAuthHarness
from vigil.console.pages import span

pytestmark = pytest.mark.integration

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def signed_in(
    world: World, edge_auth: EdgeAuthHarness, scopes: tuple[str, ...], *, subject: str = "ana", **claims: Any
) -> TestClient:
    client = TestClient(world.app, raise_server_exceptions=False)
    page = client.get("/console/login")
    assert page.status_code == 200
    token = edge_auth.token(scopes, subject=subject, **claims)
    response = client.post(
        "/console/login",
        data={"csrf": csrf_of(page.text), "token": token, "next": "/console/alerts"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
    cookie = response.headers["set-cookie"]
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/console"):
        assert attribute in cookie
    return client


def test_pages_need_a_session(world: World) -> None:
    client = TestClient(world.app)
    response = client.get("/console/alerts", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/alerts"
    page = client.get("/console/login")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert client.get("/console/static/console.css").status_code == 200
    # This world turns the development token paste on; the page says so, and what it means.
    assert "Token paste is on" in page.text
    assert "VIGIL_CONSOLE__DEV_TOKEN_PASTE" in page.text


def test_a_malformed_sign_in_body_is_a_400(world: World) -> None:
    client = TestClient(world.app)
    response = client.post(
        "/console/login", content=b"--zz\r\ngarbage", headers={"content-type": "multipart/form-data; boundary=zz"}
    )
    assert response.status_code == 400
    many = client.post("/console/login", data={f"f{i}": "x" for i in range(50)})
    assert many.status_code == 400


def test_a_bearer_header_is_not_a_console_session(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = TestClient(world.app)
    headers = {"Authorization": f"Bearer {edge_auth.token(ANALYST)}"}
    assert client.get("/console/alerts", headers=headers, follow_redirects=False).status_code == 303


def test_sign_in_refuses_bad_tokens_and_forged_forms(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = TestClient(world.app)
    csrf = csrf_of(client.get("/console/login").text)
    for token, words, status in (
        ("not-a-jwt", "refused", 400),
        (edge_auth.token(ANALYST, now=time.time() - 7200, ttl=60), "refused", 400),
        (edge_auth.token(["ingest:write"]), "no role the console serves", 403),
        ("x" * 9000, "at most 8192", 400),
    ):
        response = client.post("/console/login", data={"csrf": csrf, "token": token}, follow_redirects=False)
        assert response.status_code == status
        assert words in response.text
        assert "vigil_console=" not in response.headers.get("set-cookie", "")
    forged = client.post("/console/login", data={"csrf": "0" * 64, "token": edge_auth.token(ANALYST)})
    assert forged.status_code == 400
    assert "reload the page" in forged.text


def test_an_expired_session_sends_people_back_to_sign_in(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = TestClient(world.app)
    stale = edge_auth.token(ANALYST, now=time.time() - 7200, ttl=60)
    session_id, _ = world.app.state.console_sessions.open(
        subject="ana", display_name="ana", via="token-paste", access_token=SecretStr(stale), access_expires_at=0
    )
    client.cookies.set("vigil_console", session_id, path="/console")
    response = client.get("/console/alerts", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith("expired=1")
    assert 'vigil_console=""' in response.headers["set-cookie"]
    # The session whose token no longer verifies is gone from Redis, not only from the browser.
    assert world.app.state.console_sessions.get(session_id) == (None, None)
    # A cookie naming no session is no session either.
    client.cookies.set("vigil_console", "made-up", path="/console")
    assert client.get("/console/alerts", follow_redirects=False).status_code == 303


def test_analyst_sees_the_queue_and_triages_through_forms(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = signed_in(world, edge_auth, ANALYST, subject="ana")
    queue = client.get("/console/alerts", params={"level": "high"})
    assert queue.status_code == 200
    assert "Acknowledge selected" in queue.text
    assert "Controls" not in queue.text
    assert "Evidence bundles" not in queue.text
    alert = world.detections.alerts(AlertFilter(rule_id=REVOKED_RULE)).alerts[0]
    assert f"/console/alerts/{alert.id}" in queue.text
    detail = client.get(f"/console/alerts/{alert.id}")
    assert "203.0.113.9" in detail.text
    # count and span from the alert's exact facts, the samples named as samples
    assert f"{alert.count} events over {span(alert.first_seen, alert.last_seen)}" in detail.text
    assert f"showing {len(alert.events)} samples" in detail.text
    assert f"Sample events ({len(alert.events)} of {alert.count} events)" in detail.text
    csrf = csrf_of(detail.text)
    no_csrf = client.post(f"/console/alerts/{alert.id}/notes", data={"text": "hi"})
    assert no_csrf.status_code == 400
    noted = client.post(f"/console/alerts/{alert.id}/notes", data={"csrf": csrf, "text": "looking"})
    assert noted.status_code == 200
    assert "Note added." in noted.text
    assert world.detections.alert(alert.id).notes[-1].text == "looking"
    assert world.detections.alert(alert.id).notes[-1].actor == "ana"


def test_hostile_input_gets_a_precise_4xx(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = signed_in(world, edge_auth, ANALYST)
    csrf = csrf_of(client.get("/console/alerts").text)
    assert client.get("/console/alerts", params={"level": "apocalyptic"}).status_code == 422
    assert client.get("/console/alerts", params={"since": "yesterday"}).status_code == 422
    assert client.get("/console/alerts", params={"page": "-1"}).status_code == 422
    assert client.get("/console/alerts", params={"sort": "drop table"}).status_code == 422
    assert client.get("/console/alerts/%00nope").status_code == 404
    assert client.get("/console/rules/nope").status_code == 404
    resolve = client.post("/console/alerts/nope/resolve", data={"csrf": csrf, "verdict": "guilty"})
    assert resolve.status_code == 422
    assert client.post("/console/alerts/acknowledge", data={"csrf": csrf}).status_code == 422
    assert client.post("/console/alerts/nope/notes", data={"csrf": csrf, "text": "x" * 5000}).status_code == 422
    assert (
        client.post(
            "/console/alerts/nope/notes",
            content=b"\xff\x00",
            headers={"content-type": "multipart/form-data; boundary=zz"},
        ).status_code
        == 400
    )
    for response in (
        client.get("/console/alerts", params={"q": "<script>alert(1)</script>"}),
        client.get("/console/login", params={"next": "https://evil.example/"}),
    ):
        assert "<script>alert(1)" not in response.text
        assert "evil.example" not in response.text


def test_roles_see_only_their_pages(world: World, edge_auth: EdgeAuthHarness) -> None:
    auditor = signed_in(world, edge_auth, AUDITOR, engagement=world.engagement)
    for path in ("/console/alerts", "/console/overview", "/console/rules", f"/console/alerts/{world.bundle.info.name}"):
        assert auditor.get(path).status_code == 403, path
    csrf = csrf_of(auditor.get("/console/bundles").text)
    assert auditor.post("/console/alerts/acknowledge", data={"csrf": csrf, "ids": ["x"]}).status_code == 403
    reader = signed_in(world, edge_auth, ("alerts:read",))
    alert = world.detections.alerts(AlertFilter(rule_id=REVOKED_RULE)).alerts[0]
    page = reader.get(f"/console/alerts/{alert.id}")
    assert page.status_code == 200
    assert "Acknowledge" not in page.text
    assert "Resolve" not in page.text
    assert reader.get("/console/controls").status_code == 403
    assert reader.get("/console/bundles").status_code == 403


def test_auditor_controls_bundles_and_download_history(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = signed_in(world, edge_auth, AUDITOR, subject="aud", engagement=world.engagement)
    controls = client.get("/console/controls")
    assert controls.status_code == 200
    assert "CC6.1" in controls.text
    outside = client.get("/console/controls", params={"start": "2001-01-01", "end": "2001-02-01"})
    assert outside.status_code == 403
    assert client.get("/console/controls", params={"start": "not-a-date"}).status_code == 422
    bundles = client.get("/console/bundles")
    name = world.bundle.info.name
    assert name in bundles.text
    assert "vigil evidence verify" in bundles.text
    assert "You have not downloaded a bundle yet." in bundles.text
    download = client.get(f"/console/bundles/{name}")
    assert download.status_code == 200
    with world.archive.open_bundle(world.bundle.info) as stored:
        assert download.content == stored.read()
    history = client.get("/console/bundles").text
    assert world.bundle.info.sha256 in history.split("Your downloads")[1]
    assert client.get("/console/bundles/../../etc/passwd").status_code == 404
    assert client.get("/console/bundles/evidence-20010101T000000Z-20010102T000000Z-000000000000.zip").status_code == 404
    assert client.get("/console/evidence/0").status_code == 404
    assert client.get("/console/evidence/abc").status_code == 422
    # past what an Elasticsearch long holds: not found, never "evidence unavailable" (issue 13, item 8)
    assert client.get(f"/console/evidence/{2**63}").status_code == 404
    assert client.get(f"/console/evidence/{10**30}").status_code == 404


def test_an_engagement_that_is_over_is_refused(world: World, edge_auth: EdgeAuthHarness) -> None:
    past = {"from": "2001-01-01T00:00:00Z", "to": "2001-02-01T00:00:00Z"}
    client = signed_in(world, edge_auth, AUDITOR, engagement=past)
    assert client.get("/console/bundles").status_code == 403
    assert client.get("/console/controls").status_code == 403


def test_transparency_page_builds_and_serves_one_clients_report(world: World, edge_auth: EdgeAuthHarness) -> None:
    now = datetime.now(UTC)
    probe = ProbeResult(steps=(StepResult(kind="request", target="/api/orders", ok=True, latency_ms=20.0),))
    run = CanaryRun(
        canary="console-orders",
        tier="console-tier",
        clients=("console-client",),
        canary_client_id="canary-console",
        started_at=now - timedelta(minutes=1),
        interval_seconds=60,
        proxy_url="http://127.0.0.1:18761",
        probes=(probe,),
        objectives=SlaObjectives(availability_percent=99.0, latency_ms=500),
    )
    world.archive.locker.append(
        collector=run.kind,
        collector_version="1",
        source_system="canary",
        query="canary console-orders",
        effective_at=run.started_at,
        collected_at=run.started_at,
        media_type="application/json",
        content=run.canonical(),
    )
    client = signed_in(world, edge_auth, AUDITOR, engagement=world.engagement)
    form = client.get("/console/transparency")
    assert form.status_code == 200
    assert 'name="client"' in form.text
    page = client.get("/console/transparency", params={"client": "console-client"})
    assert page.status_code == 200, page.text
    assert "console-tier" in page.text
    assert "/console/transparency/download?client=console-client" in page.text
    day = now.strftime("%Y-%m-%d")
    tomorrow = (now + timedelta(days=1)).strftime("%Y-%m-%d")
    window = {"client": "console-client", "start": day, "end": tomorrow}
    package = client.get("/console/transparency/download", params={**window, "form": "zip"})
    assert package.status_code == 200
    assert package.headers["content-type"] == "application/zip"
    assert package.content.startswith(b"PK")
    assert client.get("/console/transparency", params={"client": "nobody"}).status_code == 404
    assert client.get("/console/transparency/download", params={**window, "form": "docx"}).status_code == 422
    outside = {**window, "start": "2001-01-01", "end": "2001-02-01"}
    assert client.get("/console/transparency/download", params=outside).status_code == 403


def test_sign_out_forgets_the_session(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = signed_in(world, edge_auth, ANALYST)
    session_id = client.cookies["vigil_console"]
    csrf = csrf_of(client.get("/console/rules").text)
    out = client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/console/login?done=signed-out"
    assert 'vigil_console=""' in out.headers["set-cookie"]
    # The session is closed on the server: the old cookie, replayed, opens nothing.
    client.cookies.clear()
    client.cookies.set("vigil_console", session_id, path="/console")
    assert client.get("/console/rules", follow_redirects=False).status_code == 303


def test_analyst_overview_rules_and_home(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = signed_in(world, edge_auth, ANALYST)
    home = client.get("/console", follow_redirects=False)
    assert home.headers["location"] == "/console/overview"
    overview = client.get("/console/overview")
    assert overview.status_code == 200
    assert overview.text.count('role="img"') == 2
    assert re.search(r"<td>access</td><td class=\"num\">3</td>", overview.text)
    assert re.search(r"<td>high</td><td class=\"num\">1</td>", overview.text)
    rules = client.get("/console/rules")
    assert "Revoked Token Replayed" in rules.text
    rule = client.get(f"/console/rules/{REVOKED_RULE}")
    assert rule.status_code == 200
    assert "No runs recorded yet." not in rule.text
    assert '<th scope="col">Groups</th>' in rule.text  # every run says how many groups matched
    assert 'data-testid="storm"' not in rule.text  # and no storm folded any


def test_auditor_reads_an_evidence_item(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = signed_in(world, edge_auth, AUDITOR, engagement=world.engagement)
    controls = client.get("/console/controls").text
    first = re.search(r'href="/console/evidence/(\d+)"', controls)
    assert first, "the control table links no evidence"
    item = client.get(f"/console/evidence/{first.group(1)}")
    assert item.status_code == 200
    assert f"Evidence item #{first.group(1)}" in item.text
    assert "SHA-256" in item.text
    home = client.get("/console", follow_redirects=False)
    assert home.headers["location"] == "/console/controls"


def test_span_reads_like_a_duration() -> None:
    start = datetime(2026, 12, 1, 5, 31, 3, tzinfo=UTC)
    assert span(start, start) == "0 s"
    assert span(start, start + timedelta(seconds=110)) == "1 min 50 s"
    assert span(start, start + timedelta(hours=2, seconds=5)) == "2 h 5 s"
