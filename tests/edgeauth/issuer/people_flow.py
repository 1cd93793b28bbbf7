"""A live OpenID Connect provider for tests: the issuer with people's real directory on the real Redis, its
token endpoint and sign-in pages on one ASGI app, and a browser (httpx through the ASGI app, cookies kept) that
signs in through the login page like a person."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from edgeauth import (
    CollectingSink,
    DecisionBuffer,
    Guard,
    JwksCache,
    KeyStore,
    RevocationPublisher,
    RevocationReplica,
    Verifier,
)
from edgeauth.issuer import Issuer, create_issuer_router, install_error_handler, install_issuer_pages
from edgeauth.people import PeopleDirectory, PersonRole
from edgeauth.settings import EdgeAuthSettings, PeopleSettings
from tests.edgeauth.issuer.conftest import ISSUER_URL, make_settings

PASSWORD = "correct horse battery staple 42"
APP_REDIRECT = "https://app.example/callback"
CLI_REDIRECT = "http://127.0.0.1/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name!r} in page: {page[:400]}"
    return html.unescape(match.group(1))


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class AuditCollector:
    """An `AuditSink` keeping the people events the sign-in emits, to assert on the vocabulary."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def emit(self, events: Any) -> None:
        self.events.extend(events)

    def actions(self) -> list[tuple[str, str, str | None]]:
        return [(e.action, e.outcome, e.reason) for e in self.events]


@dataclass
class Provider:
    settings: EdgeAuthSettings
    issuer: Issuer
    directory: PeopleDirectory
    verifier: Verifier
    audit: AuditCollector
    app: FastAPI
    redis: redis.Redis
    decisions: DecisionBuffer
    sink: CollectingSink

    def browser(self) -> TestClient:
        return TestClient(self.app, base_url=ISSUER_URL, follow_redirects=False)

    def person(self, username: str, *, roles: tuple[PersonRole, ...] = ("analyst",), email: str | None = None) -> None:
        self.directory.create(
            username, actor="test", roles=roles, password=PASSWORD, email=email, display_name=username.title()
        )

    def enrol_totp(self, username: str) -> pyotp.TOTP:
        enrolment = self.directory.begin_totp_enrolment(username, actor="test")
        totp = pyotp.TOTP(enrolment.secret.get_secret_value())
        self.directory.confirm_totp(username, totp.now(), actor="test")
        return totp

    def client(self, client_id: str, **kwargs: Any) -> str:
        kwargs.setdefault("role", "analyst")
        kwargs.setdefault("audiences", ["vigil"])
        kwargs.setdefault("redirect_uris", [APP_REDIRECT])
        kwargs.setdefault("refresh_tokens", True)
        issued = self.issuer.registry.create(client_id, actor="test", **kwargs)
        return issued.client_secret.get_secret_value() if issued.client_secret else ""

    def authorize(self, browser: TestClient, client_id: str, challenge: str, **params: str) -> Response:
        query_params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": APP_REDIRECT,
            "scope": "openid profile email alerts:read",
            "state": "st-" + secrets.token_hex(4),
            "nonce": "n-" + secrets.token_hex(4),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **params,
        }
        chosen = {k: v for k, v in query_params.items() if v is not None}
        return cast(Response, browser.get("/oauth/authorize?" + urlencode(chosen)))

    def sign_in(self, browser: TestClient, login: Response, username: str, password: str = PASSWORD) -> Response:
        """From the authorization endpoint's redirect to the login page, through the password form."""
        assert login.status_code == 302, login.text
        assert login.headers["location"].startswith("/oauth/login?pending="), login.headers["location"]
        page = browser.get(login.headers["location"])
        assert page.status_code == 200, page.text
        return cast(
            Response,
            browser.post(
                "/oauth/login",
                data={
                    "pending": hidden(page.text, "pending"),
                    "csrf": hidden(page.text, "csrf"),
                    "username": username,
                    "password": password,
                },
            ),
        )

    def second_factor(self, browser: TestClient, page: Response, code: str) -> Response:
        return cast(
            Response,
            browser.post(
                "/oauth/login",
                data={"pending": hidden(page.text, "pending"), "csrf": hidden(page.text, "csrf"), "code": code},
            ),
        )

    def token(self, client_id: str, secret: str, /, **form: str) -> Response:
        auth = {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}
        answer = TestClient(self.app, base_url=ISSUER_URL).post(
            "/oauth/token", data=form, headers=auth if secret else {}
        )
        return cast(Response, answer)

    def jti(self, access_token: str) -> str:
        return str(self.issuer.server.minter.read(access_token)["jti"])

    def redeem(self, client_id: str, secret: str, location: str, verifier: str, **extra: str) -> Response:
        form = {"grant_type": "authorization_code", "code": query(location)["code"], "redirect_uri": APP_REDIRECT}
        form |= {"code_verifier": verifier, **extra}
        if not secret:
            form["client_id"] = client_id
        return self.token(client_id, secret, **{k: v for k, v in form.items() if v is not None})


def next_step_code(totp: pyotp.TOTP) -> str:
    """A code of the next time step: the enrolment just spent the current one, and a step is accepted once."""
    return totp.at(time.time() + totp.interval)


def build_provider(redis_conn: redis.Redis, namespace: str, *, issuer_url: str = ISSUER_URL, **oauth: Any) -> Provider:
    """`issuer_url`: where the provider says it is (a live server on loopback serves it at another port)."""
    oauth.setdefault("sso_cookie_insecure", True)  # the test browser speaks plain http to the ASGI app
    settings = make_settings(namespace, **oauth).model_copy(
        update={
            "issuer": issuer_url,
            "people": PeopleSettings(argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1),
        }
    )
    keystore = KeyStore(redis_conn, settings)
    publisher = RevocationPublisher(redis_conn, settings)
    audit = AuditCollector()
    directory = PeopleDirectory.from_settings(settings, redis_conn, audit=audit)
    sink = CollectingSink()
    decisions = DecisionBuffer(sink)
    issuer = Issuer(settings, redis_conn, keystore, publisher, decisions=decisions, directory=directory)
    replica = RevocationReplica(redis_conn, settings)
    replica.load_snapshot()
    verifier = Verifier(settings, JwksCache(settings, source=issuer.jwks), revocations=replica)
    app = FastAPI()
    app.include_router(create_issuer_router(issuer))
    install_issuer_pages(app, issuer, guard=Guard(verifier))
    install_error_handler(app)
    return Provider(settings, issuer, directory, verifier, audit, app, redis_conn, decisions, sink)


@pytest.fixture
def provider(redis_conn: redis.Redis, redis_namespace: str) -> Provider:
    return build_provider(redis_conn, redis_namespace)
