"""People sign in through the OpenID Connect provider: the whole code + PKCE flow driven through the login page
(password, TOTP from pyotp, enrolment), ID tokens, userinfo, discovery, refresh, single sign-on and logout, and
every refusal on the way. Real Redis, people's real directory, the ASGI app."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from edgeauth.issuer.oidc import ACR_MFA, ACR_PASSWORD
from tests.edgeauth.issuer.conftest import ISSUER_URL
from tests.edgeauth.issuer.people_flow import (
    APP_REDIRECT,
    PASSWORD,
    Provider,
    build_provider,
    hidden,
    next_step_code,
    pkce,
    provider,
    query,
)

pytestmark = pytest.mark.integration
__all__ = ["provider"]


def id_claims(provider: Provider, id_token: str) -> dict[str, Any]:
    """Verified by joserfc (an independent JOSE library) against the published JWKS."""
    jwks = KeySet.import_key_set(provider.browser().get("/.well-known/jwks.json").json())
    header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
    assert header["typ"] == "JWT"
    assert header["kid"]
    return dict(jose_jwt.decode(id_token, jwks, algorithms=["RS256", "ES256", "EdDSA"]).claims)


def at_hash(access_token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()[:16]).rstrip(b"=").decode()


def test_discovery_is_a_full_openid_configuration(provider: Provider) -> None:
    document = provider.browser().get("/.well-known/openid-configuration").json()
    assert document["issuer"] == ISSUER_URL
    for name, path in {
        "authorization_endpoint": "/oauth/authorize",
        "token_endpoint": "/oauth/token",
        "userinfo_endpoint": "/oauth/userinfo",
        "end_session_endpoint": "/oauth/end_session",
        "revocation_endpoint": "/oauth/revoke",
        "introspection_endpoint": "/oauth/introspect",
        "jwks_uri": "/.well-known/jwks.json",
    }.items():
        assert document[name] == ISSUER_URL + path
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "authorization_code" in document["grant_types_supported"]
    assert {"openid", "profile", "email"} <= set(document["scopes_supported"])
    assert {"sub", "auth_time", "nonce", "amr", "acr", "at_hash", "email", "preferred_username"} <= set(
        document["claims_supported"]
    )
    assert document["subject_types_supported"] == ["public"]
    assert "none" in document["token_endpoint_auth_methods_supported"]


def test_confidential_client_password_only_flow(provider: Provider) -> None:
    provider.person("ana", email="ana@example.org")
    secret = provider.client("webapp", first_party=True)
    browser = provider.browser()
    verifier, challenge = pkce()
    started = provider.authorize(browser, "webapp", challenge, state="xyz", nonce="n-1", login_hint="ana")
    assert 'value="ana"' in browser.get(started.headers["location"]).text
    done = provider.sign_in(browser, started, "ana")
    assert done.status_code == 302, done.text
    location = done.headers["location"]
    assert location.startswith(APP_REDIRECT + "?")
    answer = query(location)
    assert answer["state"] == "xyz"
    assert answer["iss"] == ISSUER_URL
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Path=/oauth" in cookie

    tokens = provider.redeem("webapp", secret, location, verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert set(body["scope"].split()) == {"openid", "profile", "email", "alerts:read"}
    assert body["refresh_token"]
    claims = id_claims(provider, body["id_token"])
    assert claims["iss"] == ISSUER_URL
    assert claims["sub"] == "ana"
    assert claims["aud"] == "webapp"
    assert claims["azp"] == "webapp"
    assert claims["nonce"] == "n-1"
    assert claims["amr"] == ["pwd"]
    assert claims["acr"] == ACR_PASSWORD
    assert claims["at_hash"] == at_hash(body["access_token"])
    assert claims["name"] == "Ana"
    assert claims["preferred_username"] == "ana"
    assert claims["email"] == "ana@example.org"
    assert abs(claims["auth_time"] - time.time()) < 60
    assert claims["exp"] > claims["iat"]
    principal = provider.verifier.verify(body["access_token"], ["alerts:read"])
    assert principal.subject == "ana"
    assert principal.client_id == "webapp"

    info = browser.get("/oauth/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200, info.text
    assert info.json() == {
        "sub": "ana",
        "name": "Ana",
        "preferred_username": "ana",
        "email": "ana@example.org",
        "email_verified": False,
    }
    assert (
        browser.post("/oauth/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}).status_code == 200
    )
    assert ("sign-in", "success", "password") in provider.audit.actions()


def test_public_client_with_totp_and_loopback_redirect_on_any_port(provider: Provider) -> None:
    provider.person("adm", roles=("admin",))
    totp = provider.enrol_totp("adm")
    provider.client(
        "vigil-cli", public=True, first_party=True, redirect_uris=["http://127.0.0.1/callback"], role="admin"
    )
    browser = provider.browser()
    verifier, challenge = pkce()
    loopback = "http://127.0.0.1:53117/callback"
    started = provider.authorize(browser, "vigil-cli", challenge, redirect_uri=loopback, scope="openid admin")
    step = provider.sign_in(browser, started, "adm")
    assert step.status_code == 200, step.text
    assert 'name="code"' in step.text
    wrong = provider.second_factor(browser, step, "000000" if totp.now() != "000000" else "111111")
    assert wrong.status_code == 401
    done = provider.second_factor(browser, wrong, next_step_code(totp))
    assert done.status_code == 302, done.text
    assert done.headers["location"].startswith(loopback + "?")
    form = {
        "grant_type": "authorization_code",
        "code": query(done.headers["location"])["code"],
        "redirect_uri": loopback,
        "client_id": "vigil-cli",
        "code_verifier": verifier,
    }
    tokens = provider.token("vigil-cli", "", **form)
    assert tokens.status_code == 200, tokens.text
    claims = id_claims(provider, tokens.json()["id_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == ACR_MFA
    actions = provider.audit.actions()
    assert ("mfa-failed", "failure", "invalid_code") in actions
    assert ("sign-in", "success", "password+totp") in actions


def test_enrolment_is_walked_through_before_the_code(provider: Provider) -> None:
    provider.person("aud", roles=("auditor",))
    secret = provider.client("webapp", first_party=True, role="auditor")
    browser = provider.browser()
    verifier, challenge = pkce()
    started = provider.authorize(browser, "webapp", challenge, scope="openid evidence:read")
    enrol = provider.sign_in(browser, started, "aud")
    assert enrol.status_code == 200, enrol.text
    assert "<svg" in enrol.text
    totp = pyotp.TOTP(enrol.text.split('data-testid="totp-secret">')[1].split("<")[0])
    shown = provider.second_factor(browser, enrol, totp.now())
    assert shown.status_code == 200, shown.text
    codes = shown.text.split('data-testid="recovery-codes">')[1].split("</ol>")[0].count("<li>")
    assert codes == 10
    done = browser.post(
        "/oauth/login", data={"pending": hidden(shown.text, "pending"), "csrf": hidden(shown.text, "csrf")}
    )
    assert done.status_code == 302, done.text
    assert done.headers["location"].startswith(APP_REDIRECT)
    tokens = provider.redeem("webapp", secret, done.headers["location"], verifier)
    assert tokens.status_code == 200
    assert tokens.json()["scope"] == "evidence:read openid"
    assert provider.directory.show("aud").mfa == "totp"


def test_recovery_code_is_a_second_factor_once(provider: Provider) -> None:
    provider.person("adm", roles=("admin",))
    enrolment = provider.directory.begin_totp_enrolment("adm", actor="test")
    totp = pyotp.TOTP(enrolment.secret.get_secret_value())
    recovery = provider.directory.confirm_totp("adm", totp.now(), actor="test").codes[0].get_secret_value()
    provider.client("webapp", first_party=True, role="admin")
    for attempt in range(2):
        browser = provider.browser()
        _verifier, challenge = pkce()
        step = provider.sign_in(browser, provider.authorize(browser, "webapp", challenge, scope="openid"), "adm")
        answer = provider.second_factor(browser, step, recovery)
        assert answer.status_code == (302 if attempt == 0 else 401), answer.text
    assert ("recovery-code-used", "success", "9 left") in provider.audit.actions()


def test_one_generic_message_for_unknown_wrong_and_disabled(provider: Provider) -> None:
    provider.person("ana")
    provider.person("off")
    provider.directory.disable("off", actor="test")
    provider.client("webapp", first_party=True)
    pages = []
    for username, password in (("nobody", PASSWORD), ("ana", "wrong password 123"), ("off", PASSWORD)):
        browser = provider.browser()
        _verifier, challenge = pkce()
        answer = provider.sign_in(browser, provider.authorize(browser, "webapp", challenge), username, password)
        assert answer.status_code == 401
        pages.append(answer.text.split('id="signin-error">')[1].split("<")[0])
    assert len(set(pages)) == 1


def test_throttling_backs_off_without_locking_out(redis_conn: Any, redis_namespace: str) -> None:
    provider = build_provider(redis_conn, redis_namespace, login_backoff_base=1)
    provider.person("ana")
    provider.person("bob")
    provider.client("webapp", first_party=True)
    free = provider.settings.oauth.login_free_failures
    browser = provider.browser()
    _verifier, challenge = pkce()
    page = browser.get(provider.authorize(browser, "webapp", challenge).headers["location"])
    fields = {"pending": hidden(page.text, "pending"), "csrf": hidden(page.text, "csrf")}
    for _ in range(free + 1):
        refused = browser.post("/oauth/login", data=fields | {"username": "ana", "password": "not the password 1"})
        assert refused.status_code == 401
    throttled = browser.post("/oauth/login", data=fields | {"username": "ana", "password": PASSWORD})
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "1"
    assert "Wait 1 seconds" in throttled.text
    # Per (user name, address): another person at the same address signs in at once.
    other = provider.browser()
    assert provider.sign_in(other, provider.authorize(other, "webapp", challenge), "bob").status_code == 302
    # No lockout: once the wait is over, the right password works.
    time.sleep(1.1)
    assert browser.post("/oauth/login", data=fields | {"username": "ana", "password": PASSWORD}).status_code == 302
    assert ("sign-in", "failure", "throttled") in provider.audit.actions()


def test_single_sign_on_prompt_none_max_age_and_prompt_login(provider: Provider) -> None:
    provider.person("ana")
    secret = provider.client("webapp", first_party=True)
    provider.client("console", first_party=True)
    browser = provider.browser()
    _verifier, challenge = pkce()
    # No session yet: prompt=none answers login_required to the client, never a page.
    silent = provider.authorize(browser, "webapp", challenge, prompt="none", state="s0")
    assert silent.status_code == 302
    assert query(silent.headers["location"]).items() >= {"error": "login_required", "state": "s0"}.items()
    assert provider.sign_in(browser, provider.authorize(browser, "webapp", challenge), "ana").status_code == 302
    # Signed in: another first-party client gets a code with no page at all (single sign-on), prompt=none too.
    verifier, challenge = pkce()
    sso = provider.authorize(browser, "console", challenge, prompt="none")
    assert sso.status_code == 302
    assert "code" in query(sso.headers["location"]), sso.headers["location"]
    # max_age=0: the session is too old for this request, so the person signs in again.
    again = provider.authorize(browser, "webapp", challenge, max_age="0")
    assert again.headers["location"].startswith("/oauth/login")
    time.sleep(1.1)  # the sign-in below is in a later second than its request: max_age=0 must still be met
    answered = provider.sign_in(browser, again, "ana")
    assert answered.status_code == 302
    assert "code" in query(answered.headers["location"])
    assert (
        query(provider.authorize(browser, "webapp", challenge, max_age="0", prompt="none").headers["location"])["error"]
        == "login_required"
    )
    # prompt=login always shows the login page, and the new sign-in satisfies it.
    relogin = provider.authorize(browser, "webapp", challenge, prompt="login")
    done = provider.sign_in(browser, relogin, "ana")
    assert done.status_code == 302
    assert "code" in query(done.headers["location"])
    tokens = provider.redeem("webapp", secret, done.headers["location"], verifier)
    assert tokens.status_code == 200
    del tokens


def test_third_party_consent_is_asked_once_and_remembered(provider: Provider) -> None:
    provider.person("ana")
    secret = provider.client("partner", description="A partner's dashboard")
    browser = provider.browser()
    verifier, challenge = pkce()
    started = provider.authorize(browser, "partner", challenge, scope="openid alerts:read")
    consent = provider.sign_in(browser, started, "ana")
    assert consent.status_code == 200
    assert "alerts:read" in consent.text
    assert 'action="/oauth/consent"' in consent.text
    assert query(provider.authorize(browser, "partner", challenge, prompt="none").headers["location"])["error"] == (
        "consent_required"
    )
    # Where the federation's callback sends a signed-in browser: the login address shows the pending consent.
    again = browser.get("/oauth/login?pending=" + hidden(consent.text, "pending"))
    assert again.status_code == 200
    assert 'action="/oauth/consent"' in again.text
    denied = browser.post(
        "/oauth/consent",
        data={"pending": hidden(consent.text, "pending"), "csrf": hidden(consent.text, "csrf"), "decision": "deny"},
    )
    assert query(denied.headers["location"])["error"] == "access_denied"
    page = provider.authorize(browser, "partner", challenge, scope="openid alerts:read")
    assert page.status_code == 200
    allowed = browser.post(
        "/oauth/consent",
        data={"pending": hidden(page.text, "pending"), "csrf": hidden(page.text, "csrf"), "decision": "allow"},
    )
    assert allowed.status_code == 302
    assert "code" in query(allowed.headers["location"])
    assert provider.redeem("partner", secret, allowed.headers["location"], verifier).status_code == 200
    remembered = provider.authorize(browser, "partner", challenge, scope="openid alerts:read", prompt="none")
    assert "code" in query(remembered.headers["location"])
    asked_again = provider.authorize(browser, "partner", challenge, scope="openid alerts:read", prompt="consent")
    assert asked_again.status_code == 200
    assert 'action="/oauth/consent"' in asked_again.text


def signed_in_tokens(provider: Provider, **client: Any) -> tuple[str, TestClient, dict[str, Any]]:
    """Ana signed in to the first-party `webapp`: its secret, her browser, and the token response."""
    provider.person("ana")
    secret = provider.client("webapp", first_party=True, **client)
    browser = provider.browser()
    verifier, challenge = pkce()
    done = provider.sign_in(browser, provider.authorize(browser, "webapp", challenge), "ana")
    return secret, browser, provider.redeem("webapp", secret, done.headers["location"], verifier).json()


def test_refresh_rotates_checks_the_person_and_detects_reuse(provider: Provider) -> None:
    secret, browser, first = signed_in_tokens(provider)
    family = provider.issuer.refresh_tokens.peek(first["refresh_token"])
    assert family is not None
    # A working day, not the machine clients' 30 days, and never past the sign-in session it came from.
    assert family[0].family_expires_at - time.time() <= provider.settings.oauth.person_session_ttl + 5
    session = provider.issuer.browser.session(browser.cookies.get(provider.settings.oauth.sso_cookie_name))
    assert session is not None
    assert family[0].family_expires_at <= session.expires_at
    second = provider.token("webapp", secret, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    reused = provider.token("webapp", secret, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    after = provider.token("webapp", secret, grant_type="refresh_token", refresh_token=second.json()["refresh_token"])
    assert after.status_code == 400, "the whole family is revoked after a reuse"
    assert provider.issuer.ledger.is_revoked(provider.jti(second.json()["access_token"]))


def test_refresh_refused_once_the_person_is_disabled(provider: Provider) -> None:
    secret, browser, tokens = signed_in_tokens(provider)
    provider.directory.disable("ana", actor="test")
    refused = provider.token("webapp", secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert [a for a in provider.audit.actions() if a[0] == "session-revoked"]
    provider.decisions.flush()
    decided = [(e.subject, e.client_id, e.reason) for e in provider.sink.events if e.action == "token"]
    assert ("ana", "webapp", "ok") in decided  # a person's grant is recorded as the person's
    assert ("ana", "webapp", "person_refused") in decided
    info = browser.get("/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 401
    # Enabled again, the old family stays revoked: a disabled person's sessions do not come back.
    provider.directory.enable("ana", actor="test")
    again = provider.token("webapp", secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert again.status_code == 400


def test_logout_ends_the_session_and_revokes_its_families(provider: Provider) -> None:
    secret, browser, tokens = signed_in_tokens(provider, post_logout_redirect_uris=["https://app.example/bye"])
    # An unregistered place to go back to is refused with a page, never followed.
    evil = browser.get(
        "/oauth/end_session",
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
    )
    assert evil.status_code == 400
    assert "location" not in evil.headers
    out = browser.get(
        "/oauth/end_session",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://app.example/bye",
            "state": "bye-1",
        },
    )
    assert out.status_code == 302
    assert out.headers["location"] == "https://app.example/bye?state=bye-1"
    refused = provider.token("webapp", secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refused.status_code == 400
    assert provider.issuer.ledger.is_revoked(provider.jti(tokens["access_token"]))
    _verifier, challenge = pkce()
    silent = provider.authorize(browser, "webapp", challenge, prompt="none")
    assert query(silent.headers["location"])["error"] == "login_required"
    assert ("sign-out", "success", None) in provider.audit.actions()


def test_logout_without_a_hint_asks_first(provider: Provider) -> None:
    provider.person("ana")
    provider.client("webapp", first_party=True)
    browser = provider.browser()
    _verifier, challenge = pkce()
    assert provider.sign_in(browser, provider.authorize(browser, "webapp", challenge), "ana").status_code == 302
    ask = browser.get("/oauth/end_session")
    assert ask.status_code == 200
    assert 'name="confirm"' in ask.text
    forged = browser.post("/oauth/end_session", data={"confirm": "0" * 64})
    assert forged.status_code == 200
    assert 'name="confirm"' in forged.text
    out = browser.post("/oauth/end_session", data={"confirm": hidden(ask.text, "confirm")})
    assert out.status_code == 200
    assert "signed out" in out.text
    assert (
        query(provider.authorize(browser, "webapp", challenge, prompt="none").headers["location"])["error"]
        == "login_required"
    )


def test_cookies_are_secure_by_default_and_pages_carry_the_csp(redis_conn: Any, redis_namespace: str) -> None:
    secure = build_provider(redis_conn, redis_namespace, sso_cookie_insecure=False)
    secure.client("webapp", first_party=True)
    browser = secure.browser()
    _verifier, challenge = pkce()
    page = browser.get(secure.authorize(browser, "webapp", challenge).headers["location"])
    cookie = page.headers["set-cookie"].lower()
    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script" not in page.text
    assert " style=" not in page.text
