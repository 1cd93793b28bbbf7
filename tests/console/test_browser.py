"""The console in a real browser: headless Debian Chromium driven by Playwright against a real uvicorn server.

The server is the whole Vigil app on loopback over the real Elasticsearch and Redis; the alerts come from events
ingested through siem's pipeline and a detections run (see conftest). Screenshots of the main pages go to a
temporary folder; `make screenshots` points VIGIL_SCREENSHOTS at docs/screenshots/ to refresh the committed ones.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, ViewportSize, expect, sync_playwright

from detections import AlertFilter, AlertStatus
from edgeauth.settings import FederationSettings
from tests.console.conftest import (
    ANALYST,
    AUDITOR,
    REVOKED_RULE,
    SCANNER_RULE,
    LiveVigil,
    World,
    live_port,
    serve_live,
    serving,
)
from tests.console.test_signin_flow import PASSWORD
from tests.edgeauth.issuer.people_flow import next_step_code
from tests.fixtures.edgeauth import EdgeAuthHarness
from tests.fixtures.idp import AUDITOR as KEYCLOAK_AUDITOR
from tests.fixtures.idp import KeycloakRealm, keycloak_upstream

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP: ViewportSize = {"width": 1366, "height": 768}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    port = free_port()
    with serving(world.app, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


def browser(playwright: Playwright, profile: Path) -> BrowserContext:
    """A fresh profile each time: an empty user-data-dir, the system Chromium, no network beyond loopback."""
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        headless=True,
        viewport=LAPTOP,
        accept_downloads=True,
    )


def sign_in(page: Page, base_url: str, token: str, start: str) -> None:
    """The development token paste (the page tests' world turns it on); people sign in as in the last test."""
    page.goto(f"{base_url}{start}")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary folder, so a test run never dirties the tree; VIGIL_SCREENSHOTS names the folder to refresh."""
    chosen = os.environ.get("VIGIL_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_analyst_triages_a_real_alert(
    world: World, base_url: str, playwright: Playwright, edge_auth: EdgeAuthHarness, tmp_path: Path, shots: Path
) -> None:
    context = browser(playwright, tmp_path / "analyst-profile")
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, base_url, edge_auth.token(ANALYST, subject="ana"), "/console/alerts")
    expect(page).to_have_url(f"{base_url}/console/alerts")
    expect(page.get_by_test_id("subject")).to_have_text("ana")

    # Keyboard first: the first Tab reaches the skip link, which moves focus to the content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    shot(page, shots, "console-alerts")

    page.get_by_role("group", name="Severity").get_by_label("high").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_test_id("total")).to_have_text("1")
    page.get_by_role("link", name=re.compile("[Rr]evoked")).first.click()
    expect(page.get_by_test_id("status")).to_have_text("new")
    expect(page.get_by_text("203.0.113.9").first).to_be_visible()

    page.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Alert acknowledged.")
    expect(page.get_by_test_id("status")).to_have_text("acknowledged")
    page.get_by_label("Verdict").select_option("true_positive")
    page.get_by_label("Note (optional)").fill("replayed revoked token from a test address")
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.get_by_test_id("status")).to_have_text("resolved")
    expect(page.get_by_test_id("verdict")).to_have_text("true positive")
    expect(page.get_by_test_id("timeline")).to_contain_text("replayed revoked token")
    shot(page, shots, "console-alert")

    # The transition is what the analyst API reports, with the signed-in subject as the actor.
    alert_id = page.url.rsplit("/", 1)[1].split("?")[0]
    bearer = {"Authorization": f"Bearer {edge_auth.token(['alerts:read'])}"}
    body = httpx.get(f"{base_url}/detections/alerts/{alert_id}", headers=bearer).json()["alert"]
    assert body["rule_id"] == REVOKED_RULE
    assert [(t["from_status"], t["to_status"], t["actor"]) for t in body["transitions"]] == [
        ("new", "acknowledged", "ana"),
        ("acknowledged", "resolved", "ana"),
    ]
    assert body["verdict"] == "true_positive"

    # Bulk acknowledge the scanner alerts still new.
    page.goto(f"{base_url}/console/alerts?status=new")
    expect(page.get_by_test_id("total")).to_have_text("3")
    page.get_by_label("Select all alerts on this page").check()
    page.get_by_role("button", name="Acknowledge selected").click()
    expect(page.get_by_role("status").first).to_have_text("Selected alerts acknowledged.")
    assert world.detections.alerts(AlertFilter(status=[AlertStatus.NEW])).total == 0

    page.goto(f"{base_url}/console/overview")
    expect(page.locator("svg.chart").first).to_be_visible()
    shot(page, shots, "console-overview")
    page.goto(f"{base_url}/console/rules")
    expect(page.get_by_role("heading", name="Rules", exact=True)).to_be_visible()
    shot(page, shots, "console-rules")
    context.close()


def test_auditor_downloads_and_verifies_a_bundle(
    world: World, base_url: str, playwright: Playwright, edge_auth: EdgeAuthHarness, tmp_path: Path, shots: Path
) -> None:
    context = browser(playwright, tmp_path / "auditor-profile")
    page = context.pages[0] if context.pages else context.new_page()
    token = edge_auth.token(AUDITOR, subject="audrey", engagement=world.engagement)
    sign_in(page, base_url, token, "/console")
    expect(page).to_have_url(f"{base_url}/console/controls")
    expect(page.get_by_test_id("controls")).to_contain_text("CC6.1")
    shot(page, shots, "console-controls")

    page.get_by_role("link", name="Evidence bundles").click()
    name = world.bundle.info.name
    with page.expect_download() as caught:
        page.get_by_role("link", name=name).click()
    saved = tmp_path / name
    caught.value.save_as(saved)
    with world.archive.open_bundle(world.bundle.info) as stored:
        assert saved.read_bytes() == stored.read()

    # Verify it the way the page tells auditors to: the CLI with the public key shown for the bundle's key id.
    kid = world.bundle.info.kid
    page.get_by_text(f"Public key {kid}").click()
    pem = page.locator("details[open] pre").inner_text()
    key_file = tmp_path / f"{kid}.pem"
    key_file.write_text(pem.strip() + "\n")
    expect(page.get_by_test_id("verify-command")).to_contain_text("vigil evidence verify")
    verified = subprocess.run(
        [str(Path(sys.executable).with_name("vigil")), "evidence", "verify", str(saved), "--pubkey", str(key_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK:")

    page.reload()
    expect(page.get_by_test_id("downloads")).to_contain_text(world.bundle.info.sha256)
    shot(page, shots, "console-bundles")

    # An auditor reaches no analyst page: none is offered, and typing the address is refused.
    expect(page.get_by_role("link", name="Alert queue")).to_have_count(0)
    for path in ("/console/alerts", "/console/overview", "/console/rules"):
        response = page.goto(f"{base_url}{path}")
        assert response is not None
        assert response.status == 403, path
        expect(page.get_by_role("alert")).to_contain_text("may not open this page")
    context.close()


def test_analyst_pivots_from_an_alert_to_the_events_around_it(
    world: World, base_url: str, playwright: Playwright, edge_auth: EdgeAuthHarness, tmp_path: Path, shots: Path
) -> None:
    context = browser(playwright, tmp_path / "pivot-profile")
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, base_url, edge_auth.token(ANALYST, subject="ana"), "/console/alerts")
    scanner = world.detections.alerts(AlertFilter(rule_id=SCANNER_RULE)).alerts
    alert = next(a for a in scanner if a.group_key == "source.ip=192.0.2.2")
    page.goto(f"{base_url}/console/alerts/{alert.id}")
    page.get_by_role("link", name=re.compile(r"Same source 192\.0\.2\.2")).click()
    expect(page.get_by_test_id("total")).to_have_text("1")
    expect(page.get_by_test_id("events")).to_contain_text("sqlmap/1.7")
    shot(page, shots, "console-events")
    context.close()


def test_a_new_analyst_signs_in_with_a_second_factor_triages_and_signs_out(
    world: World, live: LiveVigil, playwright: Playwright, tmp_path: Path, shots: Path
) -> None:
    """Issue 17's "done when": a person created in the directory, with TOTP, never sees a token."""
    name = "nina" + secrets.token_hex(3)
    live.directory.create(name, actor="admin", roles=("analyst",), password=PASSWORD, display_name="Nina Analyst")
    enrolment = live.directory.begin_totp_enrolment(name, actor=name)
    authenticator = pyotp.TOTP(enrolment.secret.get_secret_value())
    live.directory.confirm_totp(name, authenticator.now(), actor=name)

    context = browser(playwright, tmp_path / "nina-profile")
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{live.url}/console/alerts")
    expect(page).to_have_url(re.compile(re.escape(live.url) + r"/oauth/login\?pending="))
    shot(page, shots, "console-login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    page.get_by_label("Code").fill(next_step_code(authenticator))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{live.url}/console/alerts")
    expect(page.get_by_test_id("subject")).to_have_text(name)
    cookies = {c["name"]: c for c in context.cookies(live.url + "/console")}
    assert cookies["vigil_console"]["httpOnly"]
    assert "." not in cookies["vigil_console"]["value"]  # an opaque id, never a JWT

    scanner = world.detections.alerts(AlertFilter(rule_id=SCANNER_RULE)).alerts
    alert = next(a for a in scanner if a.group_key == "source.ip=192.0.2.3")
    page.goto(f"{live.url}/console/alerts/{alert.id}")
    page.get_by_label("Verdict").select_option("false_positive")
    page.get_by_label("Note (optional)").last.fill("our own scanner, scheduled")
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.get_by_test_id("status")).to_have_text("resolved")
    assert world.detections.alert(alert.id).transitions[-1].actor == name

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live.url}/console/login?done=signed-out")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    # Signed out of the issuer too: the console sends her to the password form again.
    page.goto(f"{live.url}/console/alerts")
    expect(page).to_have_url(re.compile(re.escape(live.url) + r"/oauth/login\?pending="))
    context.close()


# The federation work's ports (18730-18739; Keycloak itself sits on the first two when tests run there).
FEDERATED_PORTS = range(18732, 18739)


@pytest.fixture(scope="module")
def live_federated(world: World, keycloak: KeycloakRealm) -> Iterator[LiveVigil]:
    """The world served with the session's Keycloak as its upstream identity provider ("Example Corp")."""
    upstreams = FederationSettings(upstreams=(keycloak_upstream(keycloak.issuer),))
    with serve_live(world, live_port(FEDERATED_PORTS), upstreams, console_client="vigil-console-federated") as running:
        yield running


def test_a_federated_auditor_signs_in_at_keycloak_downloads_and_verifies_a_bundle(
    world: World, live_federated: LiveVigil, playwright: Playwright, tmp_path: Path, shots: Path
) -> None:
    """Issue 17's "done when": an auditor of the company's Keycloak realm (engagement window carried as a Keycloak
    attribute) signs in through "Sign in with Example Corp" on Keycloak's own login page, never sees a token, and
    downloads a bundle that verifies."""
    live = live_federated
    username, password = KEYCLOAK_AUDITOR
    context = browser(playwright, tmp_path / "federated-auditor-profile")
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(f"{live.url}/console")
    expect(page).to_have_url(re.compile(re.escape(live.url) + r"/oauth/login\?pending="))
    page.get_by_role("link", name="Sign in with Example Corp").click()
    expect(page).to_have_url(re.compile(re.escape(live.settings.edgeauth.federation.upstreams[0].issuer)))
    shot(page, shots, "federation-keycloak-login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#kc-login").click()
    expect(page).to_have_url(f"{live.url}/console/controls")
    expect(page.get_by_test_id("subject")).to_have_text("otto.audit@audit-firm.example")
    person = live.directory.show("otto.audit@audit-firm.example")
    assert person.roles == ("auditor",)
    assert person.source.startswith("federated:")
    assert person.engagement is not None

    page.get_by_role("link", name="Evidence bundles").click()
    name = world.bundle.info.name
    with page.expect_download() as caught:
        page.get_by_role("link", name=name).click()
    saved = tmp_path / name
    caught.value.save_as(saved)
    kid = world.bundle.info.kid
    page.get_by_text(f"Public key {kid}").click()
    key_file = tmp_path / f"{kid}.pem"
    key_file.write_text(page.locator("details[open] pre").inner_text().strip() + "\n")
    verified = subprocess.run(
        [str(Path(sys.executable).with_name("vigil")), "evidence", "verify", str(saved), "--pubkey", str(key_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK:")
    # Only an auditor's pages: the analyst queue is refused to a federated auditor as to any other.
    response = page.goto(f"{live.url}/console/alerts")
    assert response is not None
    assert response.status == 403
    context.close()
