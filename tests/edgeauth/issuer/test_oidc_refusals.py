"""Every way an authorization request or a code redemption must fail, and how: errors go back to the client only
through a registered redirect URI; anything else is an error page. Hostile input is a 4xx, never a 5xx."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeauth.issuer.rfc8252 import redirect_uri_allowed
from tests.edgeauth.issuer.people_flow import APP_REDIRECT, Provider, build_provider, pkce, provider, query

pytestmark = pytest.mark.integration
__all__ = ["provider"]


def signed_in(provider: Provider, client_id: str = "webapp") -> TestClient:
    provider.person("ana")
    browser = provider.browser()
    _verifier, challenge = pkce()
    done = provider.sign_in(browser, provider.authorize(browser, client_id, challenge), "ana")
    assert done.status_code == 302
    return browser


def code_for(provider: Provider, browser: TestClient, client_id: str = "webapp", **params: str) -> tuple[str, str]:
    verifier, challenge = pkce()
    answer = provider.authorize(browser, client_id, challenge, **params)
    assert answer.status_code == 302
    assert "code" in query(answer.headers["location"]), answer.headers["location"]
    return answer.headers["location"], verifier


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "PKCE is required"),
        ({"code_challenge_method": None}, "S256"),
        ({"code_challenge_method": "plain"}, "S256"),
        ({"code_challenge": "short"}, "code_challenge"),
        ({"response_type": "token"}, None),
        ({"scope": "openid no-such-scope"}, None),
        ({"max_age": "-1"}, "max_age"),
        ({"prompt": "none login"}, "prompt"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, None),
        ({"request_uri": "https://evil.example/req"}, None),
    ],
)
def test_bad_requests_go_back_to_the_registered_redirect(
    provider: Provider, params: dict[str, Any], description: str | None
) -> None:
    provider.client("webapp", first_party=True)
    browser = signed_in(provider)
    _verifier, challenge = pkce()
    answer = provider.authorize(browser, "webapp", challenge, state="s1", **params)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(APP_REDIRECT + "?")
    returned = query(location)
    assert returned["state"] == "s1"
    assert returned["error"] in {
        "invalid_request",
        "unsupported_response_type",
        "unauthorized_client",
        "invalid_scope",
        "request_not_supported",
        "request_uri_not_supported",
    }
    assert "code" not in returned
    if description:
        assert description in returned["error_description"]


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        APP_REDIRECT + "/../evil",
        APP_REDIRECT + "?next=https://evil.example",
        APP_REDIRECT + "#frag",
        "https://app.example.evil.example/callback",
        "https://APP.example/callback",
        "http://127.0.0.1:8080/callback",  # loopback with any port is for public clients only
        "javascript:alert(1)",
        "",
        None,
    ],
)
def test_unregistered_redirects_get_a_page_never_a_redirect(provider: Provider, redirect_uri: str | None) -> None:
    provider.client("webapp", first_party=True)
    browser = signed_in(provider)
    _verifier, challenge = pkce()
    answer = provider.authorize(browser, "webapp", challenge, redirect_uri=redirect_uri)  # type: ignore[arg-type]
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert "This sign-in cannot continue" in answer.text


@pytest.mark.parametrize("client_id", ["nobody", "", None, "../../etc", "x" * 500, "a\r\nSet-Cookie: x=1"])
def test_unknown_clients_get_a_page(provider: Provider, client_id: str | None) -> None:
    browser = provider.browser()
    _verifier, challenge = pkce()
    answer = provider.authorize(browser, client_id, challenge)  # type: ignore[arg-type]
    assert answer.status_code == 400
    assert "location" not in answer.headers


def test_disabled_client_and_machine_client_cannot_authorize(provider: Provider) -> None:
    provider.client("webapp", first_party=True)
    provider.issuer.registry.create("machine", actor="test", role="ingest", audiences=["vigil"])
    provider.issuer.registry.set_disabled("webapp", True, actor="test")
    browser = provider.browser()
    _verifier, challenge = pkce()
    assert provider.authorize(browser, "machine", challenge).status_code == 400
    refused = provider.authorize(browser, "webapp", challenge)
    assert refused.status_code == 302
    assert query(refused.headers["location"])["error"] == "unauthorized_client"


def test_public_loopback_redirects(provider: Provider) -> None:
    registered = ("http://127.0.0.1/callback", "http://[::1]/cb")
    assert redirect_uri_allowed("http://127.0.0.1:50000/callback", registered, public=True)
    assert redirect_uri_allowed("http://[::1]:1/cb", registered, public=True)
    assert redirect_uri_allowed("http://127.0.0.1/callback", registered, public=True)
    for refused in (
        "http://127.0.0.1:50000/callback2",
        "http://127.0.0.1:50000/callback?x=1",
        "http://localhost:50000/callback",
        "https://127.0.0.1:50000/callback",
        "http://127.0.0.1:99999/callback",
        "http://127.0.0.1:/callback",
        "http://user@127.0.0.1:5000/callback",
        "http://127.0.0.1:5000/callback#x",
        "http://127.0.0.2:5000/callback",
    ):
        assert not redirect_uri_allowed(refused, registered, public=True), refused
    assert not redirect_uri_allowed("http://127.0.0.1:50000/callback", registered, public=False)


def test_wrong_verifier_missing_verifier_and_foreign_redirect_at_the_token_endpoint(provider: Provider) -> None:
    secret = provider.client("webapp", first_party=True)
    browser = signed_in(provider)
    for extra, error in (
        ({"code_verifier": "x" * 64}, "invalid_grant"),
        ({"code_verifier": None}, "invalid_request"),
        ({"redirect_uri": "https://app.example/other"}, "invalid_grant"),
    ):
        location, verifier = code_for(provider, browser)
        form = {"grant_type": "authorization_code", "code": query(location)["code"], "redirect_uri": APP_REDIRECT}
        form |= {"code_verifier": verifier} | {k: v for k, v in extra.items() if v is not None}
        if extra.get("code_verifier", "") is None:
            del form["code_verifier"]
        answer = provider.token("webapp", secret, **form)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == error


def test_a_code_is_bound_to_its_client(provider: Provider) -> None:
    provider.client("webapp", first_party=True)
    other_secret = provider.client("other", first_party=True)
    browser = signed_in(provider)
    location, verifier = code_for(provider, browser)
    stolen = provider.redeem("other", other_secret, location, verifier)
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"


def test_code_reuse_revokes_what_it_issued(provider: Provider) -> None:
    secret = provider.client("webapp", first_party=True)
    browser = signed_in(provider)
    location, verifier = code_for(provider, browser)
    first = provider.redeem("webapp", secret, location, verifier)
    assert first.status_code == 200
    again = provider.redeem("webapp", secret, location, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert provider.issuer.ledger.is_revoked(provider.jti(first.json()["access_token"]))
    refresh = provider.token("webapp", secret, grant_type="refresh_token", refresh_token=first.json()["refresh_token"])
    assert refresh.status_code == 400


def test_expired_code_is_refused(redis_conn: Any, redis_namespace: str) -> None:
    provider = build_provider(redis_conn, redis_namespace, authorization_code_ttl=10)
    secret = provider.client("webapp", first_party=True)
    browser = signed_in(provider)
    location, verifier = code_for(provider, browser)
    code = query(location)["code"]
    for key in redis_conn.scan_iter(match=f"{redis_namespace}:edgeauth:code:live:*"):
        redis_conn.delete(key)  # what expiry does, without waiting for it
    answer = provider.token(
        "webapp", secret, grant_type="authorization_code", code=code, redirect_uri=APP_REDIRECT, code_verifier=verifier
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_public_client_cannot_present_a_secret_and_confidential_must(provider: Provider) -> None:
    provider.client("cli", public=True, first_party=True, redirect_uris=["http://127.0.0.1/callback"])
    provider.client("webapp", first_party=True)
    browser = signed_in(provider)
    location, verifier = code_for(provider, browser)
    unauthenticated = provider.token(
        "webapp",
        "",
        grant_type="authorization_code",
        client_id="webapp",
        code=query(location)["code"],
        redirect_uri=APP_REDIRECT,
        code_verifier=verifier,
    )
    assert unauthenticated.status_code in (400, 401)
    assert unauthenticated.json()["error"] == "invalid_client"


def test_login_forms_need_their_csrf_token(provider: Provider) -> None:
    provider.person("ana")
    provider.client("webapp", first_party=True)
    browser = provider.browser()
    _verifier, challenge = pkce()
    login = browser.get(provider.authorize(browser, "webapp", challenge).headers["location"])
    pending = login.text.split('name="pending" value="')[1].split('"')[0]
    for csrf in ("", "0" * 64, None):
        data = {"pending": pending, "username": "ana", "password": "x"} | ({"csrf": csrf} if csrf is not None else {})
        assert browser.post("/oauth/login", data=data).status_code == 403
    # Another browser (no pre-session cookie) cannot post this browser's form even with its token.
    stranger = provider.browser()
    csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
    answer = stranger.post("/oauth/login", data={"pending": pending, "csrf": csrf, "username": "ana", "password": "x"})
    assert answer.status_code == 403
    assert (
        browser.post("/oauth/consent", data={"pending": pending, "csrf": "x", "decision": "allow"}).status_code == 403
    )


def test_unknown_pending_requests_and_broken_bodies_are_pages(provider: Provider) -> None:
    browser = provider.browser()
    for answer in (
        browser.get("/oauth/login"),
        browser.get("/oauth/login?pending=nope"),
        browser.post("/oauth/login", data={"pending": "nope"}),
        browser.post("/oauth/consent", data={}),
        browser.post(
            "/oauth/authorize", content=b"\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"}
        ),
        browser.post("/oauth/authorize", content=b'{"a": 1}', headers={"Content-Type": "application/json"}),
        browser.get("/oauth/authorize?client_id=a&client_id=b"),
        browser.get("/oauth/authorize?" + "&".join(f"p{i}=1" for i in range(100))),
        browser.get("/oauth/end_session?id_token_hint=not.a.token"),
        browser.get("/oauth/end_session?post_logout_redirect_uri=https://evil.example/"),
    ):
        assert 400 <= answer.status_code < 500, (answer.request.url, answer.status_code, answer.text[:200])
        assert "location" not in answer.headers


def test_userinfo_needs_an_openid_token(provider: Provider) -> None:
    browser = provider.browser()
    assert browser.get("/oauth/userinfo").status_code == 401
    assert browser.get("/oauth/userinfo", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    provider.issuer.registry.create("machine", actor="test", role="analyst", audiences=["vigil"])
    secret = provider.issuer.registry.create("m2", actor="test", role="analyst", audiences=["vigil"]).client_secret
    assert secret is not None
    access = provider.token("m2", secret.get_secret_value(), grant_type="client_credentials").json()["access_token"]
    answer = browser.get("/oauth/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert answer.status_code == 403
    assert "insufficient_scope" in answer.headers["www-authenticate"]


_PARAMS = st.sampled_from(
    [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "prompt",
        "max_age",
        "code_challenge",
        "code_challenge_method",
        "login_hint",
        "request",
        "response_mode",
    ]
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.lists(st.tuples(_PARAMS, st.text(max_size=80)), max_size=12),
    use_post=st.booleans(),
)
def test_authorize_parameter_parsing_never_fails_open(
    provider: Provider, params: list[tuple[str, str]], use_post: bool
) -> None:
    """Any mix of parameters: a 4xx page, or a redirect to the registered URI that carries an error or (only for a
    complete, valid request) a code; never a 5xx, never another place."""
    if provider.issuer.registry.store.get("webapp") is None:
        provider.client("webapp", first_party=True)
    browser = provider.browser()
    body = urlencode(params)
    answer = (
        browser.post("/oauth/authorize", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        if use_post
        else browser.get("/oauth/authorize?" + body)
    )
    assert answer.status_code < 500, answer.text[:300]
    if answer.status_code == 302:
        location = answer.headers["location"]
        assert location.startswith((APP_REDIRECT + "?", "/oauth/login?pending=")), location
        if location.startswith(APP_REDIRECT):
            assert "error" in query(location)
    else:
        assert 400 <= answer.status_code < 500


def test_authorize_and_login_count_against_the_address_rate(redis_conn: Any, redis_namespace: str) -> None:
    """Each authorization request may store a pending sign-in and each login post costs a password hash: one
    address gets the token endpoint's request rate for them, then 429 with Retry-After."""
    limited = build_provider(redis_conn, redis_namespace, rate_limit_per_ip=3)
    limited.client("webapp", first_party=True)
    browser = limited.browser()
    _verifier, challenge = pkce()
    answers = [limited.authorize(browser, "webapp", challenge).status_code for _ in range(4)]
    assert answers[:3] == [302, 302, 302]
    assert answers[3] == 429
    refused = browser.post("/oauth/login", data={"pending": "x"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    form=st.dictionaries(
        st.sampled_from(["pending", "csrf", "username", "password", "code", "decision", "x"]),
        st.text(max_size=300),
        max_size=6,
    ),
    path=st.sampled_from(["/oauth/login", "/oauth/consent", "/oauth/end_session"]),
)
def test_hostile_forms_are_4xx_pages(provider: Provider, form: dict[str, str], path: str) -> None:
    browser = provider.browser()
    answer = browser.post(path, data=form)
    assert answer.status_code < 500, answer.text[:300]
    assert "location" not in answer.headers
