"""The composed app signs a person in end to end: `vigil users`' directory, a `vigil clients` people-facing client,
the login page with password and TOTP, the code and token exchange, the app's own verifier on userinfo and an
API route, then RP-initiated logout. Wiring only: the protocol's refusals are tested in tests/edgeauth/issuer."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from edgeauth.issuer import ClientRegistry
from edgeauth.people import PeopleDirectory
from edgeauth.settings import PeopleSettings
from vigil.app import create_app
from vigil.settings import VigilSettings

pytestmark = pytest.mark.integration
CALLBACK = "https://console.example/callback"


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, page[:300]
    return match.group(1)


def test_a_person_signs_in_to_the_composed_app(
    settings: VigilSettings, es_namespace: str, redis_namespace: str, redis_conn: redis.Redis
) -> None:
    named = settings.in_namespace(redis_namespace)
    edgeauth = named.edgeauth.model_copy(
        update={
            "key_encryption_key": SecretStr("people-sign-in-kek"),
            "oauth": named.edgeauth.oauth.model_copy(update={"sso_cookie_insecure": True}),
            "people": PeopleSettings(argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1),
        }
    )
    configured = named.model_copy(update={"edgeauth": edgeauth})
    directory = PeopleDirectory.from_settings(edgeauth, redis_conn)
    password = "a long enough passphrase 7"
    directory.create("alice", actor="test", roles=["admin"], password=password, email="alice@example.org")
    enrolment = directory.begin_totp_enrolment("alice", actor="test")
    totp = pyotp.TOTP(enrolment.secret.get_secret_value())
    directory.confirm_totp("alice", totp.now(), actor="test")
    registry = ClientRegistry.from_settings(edgeauth, redis_conn)
    registry.create(
        "console",
        actor="test",
        role="admin",
        audiences=list(edgeauth.audiences),
        redirect_uris=[CALLBACK],
        post_logout_redirect_uris=["https://console.example/"],
        public=True,
        first_party=True,
        refresh_tokens=True,
    )
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    with TestClient(create_app(configured), follow_redirects=False) as browser:
        params = {
            "response_type": "code",
            "client_id": "console",
            "redirect_uri": CALLBACK,
            "scope": "openid profile email admin",
            "state": "s",
            "nonce": "n",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        login = browser.get(browser.get("/oauth/authorize?" + urlencode(params)).headers["location"])
        assert login.status_code == 200
        assert "/oauth/static/signin.css" in login.text
        assert browser.get("/oauth/static/signin.css").status_code == 200
        second = browser.post(
            "/oauth/login",
            data={
                "pending": field(login.text, "pending"),
                "csrf": field(login.text, "csrf"),
                "username": "Alice",
                "password": password,
            },
        )
        assert second.status_code == 200
        done = browser.post(
            "/oauth/login",
            data={
                "pending": field(second.text, "pending"),
                "csrf": field(second.text, "csrf"),
                "code": totp.at(time.time() + totp.interval),
            },
        )
        assert done.status_code == 302, done.text
        code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
        tokens = browser.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": "console",
                "code": code,
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
            },
        )
        assert tokens.status_code == 200, tokens.text
        body = tokens.json()
        bearer = {"Authorization": f"Bearer {body['access_token']}"}
        info = browser.get("/oauth/userinfo", headers=bearer)
        assert info.status_code == 200, info.text
        assert info.json()["email"] == "alice@example.org"
        # The app's own verifier takes a person's token like any other, and says whose it is.
        verified = browser.get("/verify", headers=bearer | {"X-Original-Method": "GET", "X-Original-URI": "/x"})
        assert verified.status_code == 200, verified.text
        assert verified.headers["x-auth-subject"] == "alice"
        assert verified.headers["x-auth-client"] == "console"
        out = browser.get(
            "/oauth/end_session",
            params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": "https://console.example/"},
        )
        assert out.status_code == 302
        refreshed = browser.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "client_id": "console", "refresh_token": body["refresh_token"]},
        )
        assert refreshed.status_code == 400
