""" "Sign in with Example Corp" end to end against the real Keycloak of the session: the issuer's login page shows
the button, the browser goes through Keycloak's own login form and back, the person is provisioned just in time
with the mapped role and gets a code, tokens and a refresh; refusals are clear pages and sign-in events; a person
disabled in Keycloak (through its admin REST API) is refused at the next refresh and their session revoked."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

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
from edgeauth.issuer.federation import Federation, SignInButtons, create_federation_router
from edgeauth.people import PeopleDirectory
from edgeauth.settings import EdgeAuthSettings, FederationSettings, PeopleSettings
from tests.edgeauth.issuer.conftest import ISSUER_URL, make_settings
from tests.edgeauth.issuer.people_flow import APP_REDIRECT, AuditCollector, pkce, query
from tests.fixtures.idp import (
    ANALYST,
    NO_ROLE,
    OUTSIDE_DOMAIN,
    KeycloakRealm,
    keycloak_sign_in,
    keycloak_upstream,
)

pytestmark = pytest.mark.integration


class FederatedProvider:
    """Vigil's issuer with Keycloak as its one upstream, on one ASGI app, over the real Redis."""

    def __init__(self, redis_conn: redis.Redis, namespace: str, keycloak: KeycloakRealm) -> None:
        upstream = keycloak_upstream(keycloak.issuer)
        settings: EdgeAuthSettings = make_settings(namespace, sso_cookie_insecure=True).model_copy(
            update={
                "people": PeopleSettings(argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1),
                "federation": FederationSettings(upstreams=(upstream,), recheck_after=0),
            }
        )
        self.settings = settings
        self.audit = AuditCollector()
        self.directory = PeopleDirectory.from_settings(settings, redis_conn, audit=self.audit)
        self.federation = Federation(settings, redis_conn, directory=self.directory)
        self.issuer = Issuer(
            settings,
            redis_conn,
            KeyStore(redis_conn, settings),
            RevocationPublisher(redis_conn, settings),
            decisions=DecisionBuffer(CollectingSink()),
            directory=self.directory,
            upstream=self.federation,
        )
        replica = RevocationReplica(redis_conn, settings)
        replica.load_snapshot()
        self.verifier = Verifier(settings, JwksCache(settings, source=self.issuer.jwks), revocations=replica)
        self.app = FastAPI()
        self.app.include_router(create_issuer_router(self.issuer))
        install_issuer_pages(
            self.app, self.issuer, guard=Guard(self.verifier), upstreams=SignInButtons(self.federation)
        )
        self.app.include_router(create_federation_router(self.federation, self.issuer))
        install_error_handler(self.app)
        issued = self.issuer.registry.create(
            "webapp",
            actor="test",
            role="analyst",
            audiences=["vigil"],
            redirect_uris=[APP_REDIRECT],
            refresh_tokens=True,
            first_party=True,
        )
        assert issued.client_secret is not None
        self.secret = issued.client_secret.get_secret_value()

    def browser(self) -> TestClient:
        return TestClient(self.app, base_url=ISSUER_URL, follow_redirects=False)

    def to_upstream(self, **params: str) -> tuple[TestClient, str, str]:
        """Authorize, the login page, its "Sign in with Example Corp" button: (browser, Keycloak URL, verifier)."""
        browser = self.browser()
        verifier, challenge = pkce()
        authorize = browser.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": "webapp",
                "redirect_uri": APP_REDIRECT,
                "scope": "openid profile email alerts:read evidence:read",
                "state": "st-1",
                "nonce": "n-1",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                **params,
            },
        )
        assert authorize.status_code == 302, authorize.text
        login = browser.get(authorize.headers["location"])
        assert login.status_code == 200, login.text
        button = re.search(
            r'href="(/oauth/federation/corp/start\?pending=[^"]+)">Sign in with Example Corp<', login.text
        )
        assert button is not None, login.text
        to_upstream = browser.get(html.unescape(button.group(1)))
        assert to_upstream.status_code == 302, to_upstream.text
        location = to_upstream.headers["location"]
        assert location.startswith(self.settings.federation.upstreams[0].issuer)
        return browser, location, verifier

    def sign_in(self, username: str, password: str, **params: str) -> tuple[str, httpx.Response, str]:
        """Through the login page's button, Keycloak's form and the callback: (callback, its answer, verifier)."""
        browser, location, verifier = self.to_upstream(**params)
        with httpx.Client() as upstream_browser:
            back = keycloak_sign_in(upstream_browser, location, username, password)
        assert back.startswith(ISSUER_URL + "/oauth/federation/corp/callback?"), back
        parts = urlsplit(back)
        callback = f"{parts.path}?{parts.query}"
        return callback, browser.get(callback), verifier

    def redeem(self, location: str, verifier: str) -> dict[str, Any]:
        tokens = self.browser().post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query(location)["code"],
                "redirect_uri": APP_REDIRECT,
                "code_verifier": verifier,
            },
            auth=("webapp", self.secret),
        )
        assert tokens.status_code == 200, tokens.text
        return dict(tokens.json())

    def refresh(self, refresh_token: str) -> httpx.Response:
        answer: httpx.Response = self.browser().post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=("webapp", self.secret),
        )
        return answer


@pytest.fixture
def federated(redis_conn: redis.Redis, redis_namespace: str, keycloak: KeycloakRealm) -> FederatedProvider:
    return FederatedProvider(redis_conn, redis_namespace, keycloak)


def test_a_keycloak_analyst_signs_in_provisioned_with_the_mapped_role(federated: FederatedProvider) -> None:
    _, done, verifier = federated.sign_in(*ANALYST)
    assert done.status_code == 302, done.text
    assert done.headers["location"].startswith(APP_REDIRECT + "?")
    assert "vigil_issuer_session" in done.headers["set-cookie"]
    user = federated.directory.show("ana.lyst@corp.example")
    assert user.roles == ("analyst",)
    assert user.source == f"federated:{federated.settings.federation.upstreams[0].issuer}"
    assert not user.has_password
    tokens = federated.redeem(done.headers["location"], verifier)
    id_token = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert id_token["amr"] == ["fed"]
    assert id_token["sub"] == "ana.lyst@corp.example"
    principal = federated.verifier.verify(tokens["access_token"], ["alerts:read"])
    assert principal.subject == "ana.lyst@corp.example"
    assert "evidence:read" not in principal.scopes
    refreshed = federated.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    actions = federated.audit.actions()
    assert ("user-provisioned", "success", None) in actions
    assert ("sign-in", "success", "fed") in actions


@pytest.mark.parametrize(
    ("who", "reason", "words"),
    [
        (OUTSIDE_DOMAIN, "domain_not_allowed", "accounts at freemail.example may not sign in"),
        (NO_ROLE, "no_role", "in no group that has a role in Vigil"),
    ],
)
def test_a_refused_person_gets_a_clear_page_and_a_sign_in_event(
    federated: FederatedProvider, who: tuple[str, str], reason: str, words: str
) -> None:
    _, page, _ = federated.sign_in(*who)
    assert page.status_code == 403
    assert words in page.text
    assert "Content-Security-Policy" in page.headers
    assert federated.directory.list_users() == []
    assert ("sign-in", "failure", reason) in federated.audit.actions()


def test_a_replayed_or_forged_callback_is_refused(federated: FederatedProvider) -> None:
    callback, done, _ = federated.sign_in(*ANALYST)
    assert done.status_code == 302
    # The same callback again (a URL from a history or a log): its state was used once.
    replayed = federated.browser().get(callback)
    assert replayed.status_code == 400
    assert "expired or was already used" in replayed.text
    forged = federated.browser().get("/oauth/federation/corp/callback?state=made-up&code=x")
    assert forged.status_code == 400
    unknown = federated.browser().get("/oauth/federation/elsewhere/start?pending=x")
    assert unknown.status_code == 404
    assert "no identity provider named elsewhere" in unknown.text


def test_a_callback_in_another_browser_than_the_one_that_started_is_refused(
    federated: FederatedProvider,
) -> None:
    """Login CSRF: someone's own callback URL, opened by a victim, must not sign the victim in as that someone."""
    started_here, location, _ = federated.to_upstream()
    assert "vigil_federation_flow" in started_here.cookies
    with httpx.Client() as upstream_browser:
        back = keycloak_sign_in(upstream_browser, location, *ANALYST)
    parts = urlsplit(back)
    elsewhere = federated.browser().get(f"{parts.path}?{parts.query}")
    assert elsewhere.status_code == 400
    assert "started in another browser" in elsewhere.text
    assert "set-cookie" not in elsewhere.headers or "vigil_issuer_session" not in elsewhere.headers["set-cookie"]
    assert federated.directory.list_users() == []


def test_an_error_from_the_upstream_is_a_refusal_without_its_description(federated: FederatedProvider) -> None:
    browser, location, _ = federated.to_upstream()
    state = query(location)["state"]
    page = browser.get(
        "/oauth/federation/corp/callback",
        params={"state": state, "error": "access_denied", "error_description": "Call +1 555 0100 to unlock"},
    )
    assert page.status_code == 403
    assert "access_denied" in page.text
    assert "555" not in page.text
    assert ("sign-in", "failure", "upstream_refused") in federated.audit.actions()


def test_disabled_in_keycloak_is_refused_at_the_next_refresh(
    federated: FederatedProvider, keycloak: KeycloakRealm
) -> None:
    username, password = keycloak.create_user(groups=["security-analysts"])
    _, done, verifier = federated.sign_in(username, password)
    tokens = federated.redeem(done.headers["location"], verifier)
    rotated = federated.refresh(tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    keycloak.set_enabled(username, False)
    refused = federated.refresh(rotated.json()["refresh_token"])
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_grant"
    assert ("session-revoked", "success", "upstream_refused") in federated.audit.actions()
    # The whole family is gone: the access token of the refused session no longer answers userinfo either.
    info = federated.browser().get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {rotated.json()['access_token']}"}
    )
    assert info.status_code == 401


def test_a_person_whose_group_no_longer_maps_is_refused_at_the_next_refresh(
    federated: FederatedProvider, keycloak: KeycloakRealm
) -> None:
    username, password = keycloak.create_user(groups=["security-analysts"])
    _, done, verifier = federated.sign_in(username, password)
    tokens = federated.redeem(done.headers["location"], verifier)
    keycloak.leave_group(username, "security-analysts")
    refused = federated.refresh(tokens["refresh_token"])
    assert refused.status_code == 400, refused.text
    assert ("session-revoked", "success", "no_role") in federated.audit.actions()
