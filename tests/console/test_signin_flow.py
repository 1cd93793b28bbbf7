"""The console signs people in through Vigil's own issuer, end to end over HTTP (no browser): the real app on a
loopback port, the real people directory, the login page driven like a person would, and httpx as the browser."""

from __future__ import annotations

import base64
import re
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest

from edgeauth.people import PersonRole
from tests.console.conftest import LiveVigil, World
from tests.edgeauth.issuer.people_flow import hidden, next_step_code
from vigil import keyring
from vigil.clients import redis_client
from vigil.console.registration import register_first_party
from vigil.console.store import ConsoleSession, SessionStore

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple 42"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def person(live: LiveVigil, *roles: PersonRole, totp: bool = False) -> tuple[str, pyotp.TOTP | None]:
    name = "p" + secrets.token_hex(4)
    live.directory.create(name, actor="test", roles=roles, password=PASSWORD, display_name=name.title())
    if not totp:
        return name, None
    enrolment = live.directory.begin_totp_enrolment(name, actor="test")
    authenticator = pyotp.TOTP(enrolment.secret.get_secret_value())
    live.directory.confirm_totp(name, authenticator.now(), actor="test")
    return name, authenticator


def browser(live: LiveVigil) -> httpx.Client:
    return httpx.Client(base_url=live.url, follow_redirects=False, timeout=60)


def sign_in_at_issuer(
    client: httpx.Client, authorize_url: str, name: str, authenticator: pyotp.TOTP | None = None
) -> httpx.Response:
    """From the authorization URL through the issuer's login page (password, then the code): the redirect back."""
    login = client.get(authorize_url)
    assert login.status_code in (302, 303), login.text[:300]
    page = client.get(login.headers["location"])
    assert page.status_code == 200, page.text[:300]
    form = {"pending": hidden(page.text, "pending"), "csrf": hidden(page.text, "csrf")}
    answer = client.post("/oauth/login", data={**form, "username": name, "password": PASSWORD})
    if authenticator is not None:
        assert answer.status_code == 200, answer.text[:300]  # the second-factor step
        step = {"pending": hidden(answer.text, "pending"), "csrf": hidden(answer.text, "csrf")}
        answer = client.post("/oauth/login", data={**step, "code": next_step_code(authenticator)})
    assert answer.status_code in (302, 303), answer.text[:300]
    return answer


def console_sign_in(live: LiveVigil, name: str, authenticator: pyotp.TOTP | None = None) -> httpx.Client:
    client = browser(live)
    start = client.get("/console/login", params={"next": "/console/alerts"})
    assert start.status_code == 303
    back = sign_in_at_issuer(client, start.headers["location"], name, authenticator)
    assert back.headers["location"].startswith(f"{live.url}/console/callback?")
    landed = client.get(back.headers["location"])
    assert landed.status_code == 303, landed.text[:300]
    assert landed.headers["location"] == "/console/alerts"
    return client


def sessions(live: LiveVigil) -> SessionStore:
    store: SessionStore = live.app.state.console_sessions
    return store


def signed_in_session(live: LiveVigil, roles: tuple[PersonRole, ...] = ("analyst",)) -> tuple[str, httpx.Client, str]:
    """A person signed in to the console: their name, their browser and their session id."""
    name, _ = person(live, *roles)
    client = console_sign_in(live, name)
    return name, client, client.cookies["vigil_console"]


def age_session(live: LiveVigil, session_id: str, **clocks: float) -> ConsoleSession:
    """Move a session's clocks (`access_expires_at`, `last_seen`, `absolute_expires_at`); what it held before."""
    session, _ = sessions(live).get(session_id)
    assert session is not None
    sessions(live).replace(session_id, session.model_copy(update=clocks))
    return session


def test_an_analyst_signs_in_with_password_and_code(live: LiveVigil, world: World) -> None:
    name, authenticator = person(live, "analyst", totp=True)
    client = browser(live)
    start = client.get("/console/login", params={"next": "/console/alerts"})
    authorize = urlsplit(start.headers["location"])
    params = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{live.url}/oauth/authorize"
    assert params["code_challenge_method"] == "S256"
    assert params["client_id"] == "vigil-console"
    assert params["redirect_uri"] == f"{live.url}/console/callback"
    assert len(params["state"]) >= 43
    assert len(params["nonce"]) >= 43
    assert "code_verifier" not in params
    back = sign_in_at_issuer(client, start.headers["location"], name, authenticator)
    landed = client.get(back.headers["location"])
    assert landed.status_code == 303
    cookie = client.cookies.get("vigil_console", path="/console")
    assert cookie is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie)  # an opaque id, not a token
    set_cookie = landed.headers["set-cookie"]
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/console"):
        assert attribute in set_cookie
    queue = client.get("/console/alerts")
    assert queue.status_code == 200
    assert f'data-testid="subject">{name}<' in queue.text
    assert "Acknowledge selected" in queue.text  # the analyst's roles, read from the session's access token
    assert client.get("/console/controls").status_code == 403  # and nothing the role does not hold
    session, _ = sessions(live).get(cookie)
    assert session is not None
    assert session.subject == name
    assert session.refresh_token is not None
    # A bearer header built from the session's own token is still no console session.
    bare = browser(live).get(
        "/console/alerts", headers={"Authorization": f"Bearer {session.access_token.get_secret_value()}"}
    )
    assert bare.status_code == 303


def test_token_paste_is_off_by_default(live: LiveVigil) -> None:
    client = browser(live)
    assert client.get("/console/login").status_code == 303  # straight to the issuer: no form to paste into
    shown = client.get("/console/login", params={"done": "signed-out"})
    assert shown.status_code == 200
    assert "Access token" not in shown.text
    assert "Token paste" not in shown.text
    refused = client.post("/console/login", data={"token": "eyJ.x.y"})
    assert refused.status_code == 404
    assert "development setting and it is off" in refused.text


def test_the_access_token_is_refreshed_on_the_server(live: LiveVigil) -> None:
    _, client, session_id = signed_in_session(live)
    before = age_session(live, session_id, access_expires_at=int(time.time()))
    assert client.get("/console/alerts").status_code == 200
    after, _ = sessions(live).get(session_id)
    assert after is not None
    assert after.access_token.get_secret_value() != before.access_token.get_secret_value()
    assert after.refresh_token is not None
    assert before.refresh_token is not None
    assert after.refresh_token.get_secret_value() != before.refresh_token.get_secret_value()  # rotated
    assert after.access_expires_at > time.time() + 60


def test_a_person_disabled_meanwhile_is_signed_out_at_the_next_refresh(live: LiveVigil) -> None:
    name, client, session_id = signed_in_session(live)
    live.directory.disable(name, actor="test")
    age_session(live, session_id, access_expires_at=int(time.time()))
    ended = client.get("/console/alerts")
    assert ended.status_code == 303
    assert ended.headers["location"] == "/console/login?next=/console/alerts&expired=1"
    assert sessions(live).get(session_id) == (None, None)


def test_idle_and_absolute_timeouts_end_the_session(live: LiveVigil) -> None:
    for clock in ("last_seen", "absolute_expires_at"):
        _, client, session_id = signed_in_session(live)
        age_session(live, session_id, **{clock: time.time() - live.settings.console.idle_timeout_seconds - 1})
        ended = client.get("/console/alerts")
        assert ended.status_code == 303, clock
        assert ended.headers["location"].endswith("expired=1")
        page = client.get(ended.headers["location"])
        assert "Your session ended" in page.text


def refresh_grant(live: LiveVigil, refresh_token: str) -> httpx.Response:
    secret = keyring.console_client_secret(live.settings).get()
    assert secret is not None
    basic = base64.b64encode(f"vigil-console:{secret.get_secret_value()}".encode()).decode()
    return httpx.post(
        f"{live.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers={"Authorization": f"Basic {basic}"},
    )


def test_sign_out_revokes_the_refresh_token_and_ends_the_issuer_session(live: LiveVigil) -> None:
    _, client, session_id = signed_in_session(live)
    session = age_session(live, session_id)
    assert session.refresh_token is not None
    page = client.get("/console/alerts")
    csrf = CSRF.search(page.text)
    assert csrf is not None
    assert client.post("/console/logout", data={"csrf": "0" * 64}).status_code == 400  # CSRF first
    out = client.post("/console/logout", data={"csrf": csrf.group(1)})
    assert out.status_code == 303
    end = urlsplit(out.headers["location"])
    assert f"{end.scheme}://{end.netloc}{end.path}" == f"{live.url}/oauth/end_session"
    query = {k: v[0] for k, v in parse_qs(end.query).items()}
    assert query["post_logout_redirect_uri"] == f"{live.url}/console/login?done=signed-out"
    assert query["id_token_hint"] == session.id_token
    back = client.get(out.headers["location"])
    assert back.status_code in (302, 303)
    assert back.headers["location"].startswith(f"{live.url}/console/login?done=signed-out")
    assert "You are signed out." in client.get(back.headers["location"]).text
    # The session is gone, and its refresh token is refused at the issuer (revoked, RFC 7009).
    assert sessions(live).get(session_id) == (None, None)
    reused = refresh_grant(live, session.refresh_token.get_secret_value())
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    # The issuer's own session ended too: signing in again asks for the password.
    again = client.get("/console/login")
    login = client.get(again.headers["location"])
    assert login.headers["location"].startswith("/oauth/login?pending=")


def test_a_person_without_a_console_role_is_refused(live: LiveVigil) -> None:
    name, authenticator = person(live, "admin", totp=True)  # admins hold `admin`, which opens no console page
    client = browser(live)
    start = client.get("/console/login")
    back = sign_in_at_issuer(client, start.headers["location"], name, authenticator)
    refused = client.get(back.headers["location"])
    assert refused.status_code == 403
    assert "no role the console serves" in refused.text
    assert "vigil_console=" not in refused.headers.get("set-cookie", "").replace("vigil_console_signin", "")


def test_registration_is_idempotent_and_keeps_the_secret_sealed(live: LiveVigil) -> None:
    again = register_first_party(live.settings, actor="test")
    assert [(r.client_id, r.outcome) for r in again] == [("vigil-console", "unchanged"), ("vigil-cli", "unchanged")]
    secret = keyring.console_client_secret(live.settings)
    kept = secret.get()
    assert kept is not None
    raw = redis_client(live.settings).get(secret.key)
    assert isinstance(raw, bytes)
    assert kept.get_secret_value().encode() not in raw  # sealed, not in clear
    # A lost secret (a wiped key) is replaced by a rotated one; the console signs people in with it afterwards.
    redis_client(live.settings).delete(secret.key)
    rotated = register_first_party(live.settings, actor="test")
    assert rotated[0].outcome == "secret rotated"
    fresh = secret.get()
    assert fresh is not None
    assert fresh.get_secret_value() != kept.get_secret_value()
    assert refresh_grant(live, "not-a-token").json()["error"] == "invalid_grant"  # the new secret authenticates
    # The running app read the old secret; refused as invalid_client, it reads the new one and carries on.
    name, _ = person(live, "analyst")
    assert console_sign_in(live, name).get("/console/alerts").status_code == 200
