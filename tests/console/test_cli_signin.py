"""`vigil login` as a person, end to end: the CLI waits on its loopback redirect while this test plays the browser
on the issuer's login page; then the person's commands run against the live API with their own roles."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pyotp
import pytest

from detections import AlertFilter
from tests.console.conftest import REVOKED_RULE, LiveVigil, World
from tests.console.test_signin_flow import PASSWORD, sign_in_at_issuer

pytestmark = pytest.mark.integration

VIGIL = str(Path(sys.executable).with_name("vigil"))


def vigil(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VIGIL, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def login(live: LiveVigil, env: dict[str, str], name: str, authenticator: pyotp.TOTP | None = None) -> str:
    """Run `vigil login --no-browser`, open the printed address as a browser would, sign in; the CLI's stdout."""
    process = subprocess.Popen(
        [VIGIL, "login", "--issuer", live.url, "--no-browser", "--wait", "90"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        url = ""
        for line in process.stderr:
            if line.strip().startswith("http"):
                url = line.strip()
                break
        assert url.startswith(f"{live.url}/oauth/authorize?"), url
        with httpx.Client(base_url=live.url, follow_redirects=False, timeout=60) as browser:
            back = sign_in_at_issuer(browser, url, name, authenticator)
        redirect = back.headers["location"]
        assert redirect.startswith("http://127.0.0.1:")
        assert "/callback?" in redirect
        assert not redirect.startswith(f"{live.url}/")  # the CLI's own listener, not the app
        landing = httpx.get(redirect, timeout=30)
        assert landing.status_code == 200
        assert "return to your terminal" in landing.text
        out, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "code=" not in out + err  # the authorization code is never shown
    return out


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}


def test_an_analyst_signs_in_on_the_cli_and_triages_as_themselves(
    live: LiveVigil, world: World, cli_env: dict[str, str]
) -> None:
    name = "cli" + os.urandom(3).hex()
    live.directory.create(name, actor="test", roles=("analyst",), password=PASSWORD, display_name="Cli Analyst")
    assert (
        vigil(cli_env, "alerts", "list", "--remote").stderr.strip() == "vigil: error: not signed in: run `vigil login`"
    )

    out = login(live, cli_env, name)
    assert out.strip() == f"Signed in to {live.url} as {name} (Cli Analyst)."
    folder = Path(cli_env["XDG_CONFIG_HOME"]) / "vigil"
    stored = folder / "credentials.json"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    saved = json.loads(stored.read_text())
    assert set(saved) >= {"issuer", "client_id", "subject", "refresh_token"}
    assert "access_token" not in saved
    first_refresh = saved["refresh_token"]

    who = vigil(cli_env, "whoami")
    assert who.returncode == 0, who.stderr
    assert who.stdout.startswith(f"{name} (Cli Analyst) at {live.url}")
    # Every use rotates the stored refresh token; the file stays private.
    assert json.loads(stored.read_text())["refresh_token"] != first_refresh
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600

    listed = vigil(cli_env, "alerts", "list", "--remote", "--rule", REVOKED_RULE)
    assert listed.returncode == 0, listed.stderr
    alert = world.detections.alerts(AlertFilter(rule_id=REVOKED_RULE)).alerts[0]
    assert alert.id in listed.stdout
    assert listed.stdout.strip().endswith("1 of 1")

    noted = vigil(cli_env, "alerts", "resolve", alert.id, "--verdict", "benign", "--note", "cli", "--remote")
    assert noted.returncode == 0, noted.stderr
    assert noted.stdout.strip() == f"{alert.id}: resolved (benign)"
    assert world.detections.alert(alert.id).transitions[-1].actor == name  # the person, not the machine

    refused = vigil(cli_env, "compliance", "status", "--remote")
    assert refused.returncode == 1
    assert refused.stderr.startswith("vigil: error: your role may not do this")
    assert len(refused.stderr.strip().splitlines()) == 1

    before_logout = json.loads(stored.read_text())["refresh_token"]
    out_ = vigil(cli_env, "logout")
    assert out_.returncode == 0, out_.stderr
    assert out_.stdout.strip() == f"Signed out {name} from {live.url}; the sign-in was revoked."
    assert not stored.exists()
    reused = httpx.post(
        f"{live.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": before_logout, "client_id": "vigil-cli"},
    )
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert vigil(cli_env, "alerts", "list", "--remote").returncode == 1


def test_an_auditor_with_a_second_factor_builds_a_bundle_remotely(
    live: LiveVigil, world: World, cli_env: dict[str, str], tmp_path: Path
) -> None:
    name = "aud" + os.urandom(3).hex()
    engagement = (datetime.fromisoformat(world.engagement["from"]), datetime.fromisoformat(world.engagement["to"]))
    live.directory.create(name, actor="test", roles=("auditor",), password=PASSWORD, engagement=engagement)
    enrolment = live.directory.begin_totp_enrolment(name, actor="test")
    authenticator = pyotp.TOTP(enrolment.secret.get_secret_value())
    live.directory.confirm_totp(name, authenticator.now(), actor="test")
    login(live, cli_env, name, authenticator)

    day = world.bundle.info.period_from.date().isoformat()
    status = vigil(cli_env, "compliance", "status", "--remote", "--from", day, "--to", day)
    assert status.returncode == 0, status.stderr
    assert "CC6.1" in status.stdout

    bundle = vigil(cli_env, "evidence", "bundle", "--from", day, "--to", day, "--out", str(tmp_path), "--remote")
    assert bundle.returncode == 0, bundle.stderr
    saved = Path(bundle.stdout.splitlines()[0])
    assert saved.is_file()
    # Offline verification against the keys the deployment publishes (read from its namespace, no sign-in).
    deployment = {**cli_env, "VIGIL_NAMESPACE": world.prefix}
    verified = vigil(deployment, "evidence", "verify", str(saved))
    assert verified.returncode == 0, verified.stdout + verified.stderr

    assert vigil(cli_env, "alerts", "list", "--remote").stderr.startswith("vigil: error: your role may not do this")

    # Disabled by an admin: the next command finds the sign-in ended, says so in one line and forgets it.
    live.directory.disable(name, actor="admin")
    ended = vigil(cli_env, "compliance", "status", "--remote")
    assert ended.returncode == 1
    assert ended.stderr.strip() == (
        f"vigil: error: your sign-in at {live.url} ended (invalid_grant); run `vigil login` again"
    )
    assert not (Path(cli_env["XDG_CONFIG_HOME"]) / "vigil" / "credentials.json").exists()
