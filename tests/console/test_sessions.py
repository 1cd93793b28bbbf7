"""Server-side console sessions in the real Redis: opaque ids, idle and absolute timeouts, sealed records, one-use
sign-in states bound to their browser, CSRF on sign-out, and a new id at every sign-in."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.requests import Request

from edgeauth import CollectingAuditSink
from edgeauth.issuer.digest import digest
from tests.console.conftest import ANALYST, World
from tests.console.test_http import csrf_of, signed_in
from tests.fixtures.edgeauth import EdgeAuthHarness
from vigil.console.errors import FormRejected, RoleRefused, SignInRequired
from vigil.console.session import Sessions
from vigil.console.settings import ConsoleSettings
from vigil.console.store import SessionStore
from vigil.signin import AuthorizationRequest

pytestmark = pytest.mark.integration


@pytest.fixture
def store(redis_conn: redis.Redis, redis_namespace: str) -> SessionStore:
    key = secrets.token_bytes(32)
    return SessionStore(redis_conn, redis_namespace, lambda: key, idle_seconds=60, absolute_seconds=600)


def opened(store: SessionStore, token: str = "access-token") -> str:  # noqa: S107 (a test token)
    session_id, _ = store.open(
        subject="ana",
        display_name="Ana",
        via="oidc",
        access_token=SecretStr(token),
        access_expires_at=int(time.time()) + 300,
        refresh_token=SecretStr("refresh-token"),
        id_token="id.token.here",
    )
    return session_id


def test_redis_holds_no_usable_cookie_and_no_readable_token(
    store: SessionStore, redis_conn: redis.Redis, redis_namespace: str
) -> None:
    session_id = opened(store, token="eyJ-a-very-recognisable-token")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session_id)  # 256 random bits
    keys = [k.decode() for k in redis_conn.scan_iter(match=f"{redis_namespace}:console:session:*")]
    assert keys == [f"{redis_namespace}:console:session:{digest(session_id)}"]
    raw = redis_conn.get(keys[0])
    assert isinstance(raw, bytes)
    assert session_id.encode() not in raw
    assert b"eyJ-a-very-recognisable-token" not in raw
    assert b"refresh-token" not in raw
    ttl = redis_conn.ttl(keys[0])
    assert isinstance(ttl, int)
    assert 0 < ttl <= 61  # the idle timeout, the nearer of the two
    session, ended = store.get(session_id)
    assert ended is None
    assert session is not None
    assert session.access_token.get_secret_value() == "eyJ-a-very-recognisable-token"


def test_a_record_moved_under_another_id_opens_nothing(store: SessionStore, redis_conn: redis.Redis) -> None:
    first, second = opened(store), opened(store)
    prefix = store._session_key(first).rsplit(":", 1)[0]
    moved = redis_conn.get(f"{prefix}:{digest(first)}")
    assert isinstance(moved, bytes)
    redis_conn.set(f"{prefix}:{digest(second)}", moved)
    assert store.get(second) == (None, None)
    assert store.get(first)[0] is not None


def test_idle_and_absolute_timeouts(store: SessionStore) -> None:
    idle = opened(store)
    session, _ = store.get(idle)
    assert session is not None
    store.replace(idle, session.model_copy(update={"last_seen": time.time() - 61}))
    assert store.get(idle)[1] == "idle"
    assert store.get(idle) == (None, None)  # and it is gone

    busy = opened(store)
    session, _ = store.get(busy)
    assert session is not None
    # Used a second ago, but signed in longer ago than the absolute timeout allows.
    store.replace(busy, session.model_copy(update={"absolute_expires_at": time.time() - 1}))
    assert store.get(busy)[1] == "absolute"
    assert store.get(busy) == (None, None)


def test_each_use_restarts_the_idle_clock(store: SessionStore) -> None:
    session_id = opened(store)
    session, _ = store.get(session_id)
    assert session is not None
    store.replace(session_id, session.model_copy(update={"last_seen": time.time() - 50}))
    touched, ended = store.get(session_id)
    assert ended is None
    assert touched is not None
    assert time.time() - touched.last_seen < 5


def test_close_returns_the_tokens_to_revoke_once(store: SessionStore) -> None:
    session_id = opened(store)
    closed = store.close(session_id)
    assert closed is not None
    assert closed.refresh_token is not None
    assert closed.refresh_token.get_secret_value() == "refresh-token"
    assert store.close(session_id) is None
    assert store.get(session_id) == (None, None)


def test_a_pending_sign_in_is_good_once(store: SessionStore) -> None:
    request = AuthorizationRequest(
        url="https://id.test/authorize?x",
        state="state-1",
        nonce="nonce-1",
        code_verifier=SecretStr("v" * 64),
        redirect_uri="http://127.0.0.1/console/callback",
    )
    store.put_pending(request, next="/console/alerts", browser="browser-cookie")
    pending = store.take_pending("state-1")
    assert pending is not None
    assert pending.browser == digest("browser-cookie")
    assert pending.request().code_verifier.get_secret_value() == "v" * 64
    assert store.take_pending("state-1") is None
    assert store.take_pending("never-issued") is None


def test_sign_ins_and_outs_are_audited(store: SessionStore, edge_auth: EdgeAuthHarness) -> None:
    sink = CollectingAuditSink()
    sessions = Sessions(edge_auth.verifier, ConsoleSettings(), store, lambda: b"k" * 32, sink)
    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/console/login", "headers": [], "client": None}
    session_id, principal = sessions.open_pasted(Request(scope), edge_auth.token(["alerts:read"], subject="ana"))
    with pytest.raises(RoleRefused):
        sessions.open_pasted(Request(scope), edge_auth.token(["ingest:write"], subject="bot"))
    with pytest.raises(FormRejected):
        sessions.open_pasted(Request(scope), "not-a-jwt")  # a refused token is an auth decision, not a sign-in
    cookie = {"type": "http", "method": "POST", "path": "/console/logout", "client": None}
    headers = [(b"cookie", f"vigil_console={session_id}".encode())]
    assert sessions.close(Request({**cookie, "headers": headers})) is not None
    with pytest.raises(SignInRequired):
        sessions.principal(Request({**cookie, "headers": headers}))
    assert [(e.action, e.category, e.outcome, e.actor, e.reason) for e in sink.events] == [
        ("console-signed-in", "session", "success", "ana", None),
        ("console-signed-in", "iam", "failure", "bot", "no-console-scope"),
        ("sign-out", "session", "success", "ana", None),  # edgeauth's people vocabulary
    ]
    assert sink.events[2].client_id == "vigil-console"
    assert principal.subject == "ana"


def test_sign_in_always_issues_a_new_session_id(world: World, edge_auth: EdgeAuthHarness) -> None:
    """Session fixation: an id planted in the browser before sign-in is never the id after it."""
    planted = opened(world.app.state.console_sessions)
    client = TestClient(world.app)
    client.cookies.set("vigil_console", planted, path="/console")
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"csrf": csrf_of(page.text), "token": edge_auth.token(ANALYST, subject="ana")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    fresh = re.search(r"vigil_console=([^;]+)", response.headers["set-cookie"])
    assert fresh is not None
    assert fresh.group(1) != planted
    assert world.app.state.console_sessions.get(planted) == (None, None)  # the planted one is closed too


def test_sign_out_needs_the_sessions_own_csrf_token(world: World, edge_auth: EdgeAuthHarness) -> None:
    client = signed_in(world, edge_auth, ANALYST)
    other = signed_in(world, edge_auth, ANALYST)
    foreign = csrf_of(other.get("/console/rules").text)
    for form in ({}, {"csrf": "0" * 64}, {"csrf": foreign}):
        refused = client.post("/console/logout", data=form, follow_redirects=False)
        assert refused.status_code == 400, form
        assert client.get("/console/rules", follow_redirects=False).status_code == 200  # still signed in
    assert client.post("/console/logout", data={"csrf": csrf_of(client.get("/console/rules").text)}).status_code == 200


def test_a_callback_with_a_forged_stale_or_foreign_state_is_refused(world: World) -> None:
    store: SessionStore = world.app.state.console_sessions
    request = AuthorizationRequest(
        url="https://id.test/authorize",
        state="s-" + secrets.token_urlsafe(16),
        nonce="n",
        code_verifier=SecretStr("v" * 64),
        redirect_uri="http://testserver/console/callback",
    )
    client = TestClient(world.app)
    client.cookies.set("vigil_console_signin", "this-browser-" + "x" * 16, path="/console")
    for query in ({}, {"state": "forged", "code": "c"}, {"state": "x" * 5000, "code": "c"}):
        answer = client.get("/console/callback", params=query, follow_redirects=False)
        assert answer.status_code == 400
        assert "sign in again" in answer.text
        assert "vigil_console=" not in answer.headers.get("set-cookie", "").replace("vigil_console_signin=", "")
    # Started in another browser: the state is right, the browser is not (login CSRF).
    store.put_pending(request, next="/console", browser="another-browser-" + "y" * 16)
    answer = client.get("/console/callback", params={"state": request.state, "code": "c"}, follow_redirects=False)
    assert answer.status_code == 400
    # And the state is spent: even the right browser cannot use it afterwards (stale).
    client.cookies.set("vigil_console_signin", "another-browser-" + "y" * 16, path="/console")
    answer = client.get("/console/callback", params={"state": request.state, "code": "c"}, follow_redirects=False)
    assert answer.status_code == 400
