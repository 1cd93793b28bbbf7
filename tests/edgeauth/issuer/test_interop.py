"""Standards clients against a live issuer: the authorization code + PKCE (S256) flow run by authlib's OAuth 2.0
client (httpx) and by oauth4webapi under Node, over real sockets to uvicorn on loopback; this test plays the
browser on the login page (password, then a TOTP code when the person has one). Every ID token is validated with
jwcrypto, a JOSE library the issuer does not use, against the published JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pyotp
import pytest
import redis
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from jwcrypto import jwk, jwt
from jwcrypto.common import JWException

from tests.edgeauth.issuer.people_flow import PASSWORD, Provider, build_provider, hidden, next_step_code
from tests.fixtures.loopback import served_on

pytestmark = pytest.mark.integration

# Ports of this engineer's range (issue 17's interop tests): one live issuer per client library.
AUTHLIB_PORT, NODE_PORT = 18741, 18742
WEB_REDIRECT = "https://app.example/callback"
NATIVE_REDIRECT = "http://127.0.0.1/callback"  # registered without a port: RFC 8252 loopback, any port
OAUTH4WEBAPI = "3.8.8"
NODE_FLOW = Path(__file__).with_name("oauth4webapi_flow.mjs")


@pytest.fixture
def live(redis_conn: redis.Redis, redis_namespace: str, request: pytest.FixtureRequest) -> Iterator[Provider]:
    port = request.param
    provider = build_provider(redis_conn, redis_namespace, issuer_url=f"http://127.0.0.1:{port}")
    with served_on(provider.app, port):
        yield provider


def discovery(provider: Provider) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(provider.settings.issuer + "/.well-known/openid-configuration").json()
    assert document["issuer"] == provider.settings.issuer
    return document


def browser_signs_in(authorize_url: str, username: str, totp: pyotp.TOTP | None = None) -> str:
    """A person at a browser: the authorization request, the login page, the code page; returns where the issuer
    sent the browser back (the client's redirect URI with `code` and `state`)."""
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        started = browser.get(authorize_url)
        assert started.status_code == 302, started.text
        login_url = urljoin(authorize_url, started.headers["location"])
        page = browser.get(login_url)
        assert page.status_code == 200, page.text
        form = {"pending": hidden(page.text, "pending"), "csrf": hidden(page.text, "csrf")}
        answer = browser.post(
            urljoin(login_url, "/oauth/login"), data={**form, "username": username, "password": PASSWORD}
        )
        if totp is not None:
            assert answer.status_code == 200, answer.text
            assert 'name="code"' in answer.text
            form = {"pending": hidden(answer.text, "pending"), "csrf": hidden(answer.text, "csrf")}
            answer = browser.post(urljoin(login_url, "/oauth/login"), data={**form, "code": next_step_code(totp)})
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]


def validated_id_token(
    document: dict[str, Any], id_token: str, *, client_id: str, nonce: str, access_token: str
) -> dict[str, Any]:
    """The ID token checked by jwcrypto against the JWKS: signature, iss, aud, exp, iat, nonce; and at_hash."""
    keys = jwk.JWKSet.from_json(httpx.get(document["jwks_uri"]).text)
    checked = jwt.JWT(
        jwt=id_token,
        key=keys,
        algs=document["id_token_signing_alg_values_supported"],
        check_claims={"iss": document["issuer"], "aud": client_id, "exp": None, "iat": None, "nonce": nonce},
    )
    claims: dict[str, Any] = json.loads(checked.claims)
    digest = hashlib.sha256(access_token.encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    for tampered in (id_token[:-4] + ("AAAA" if not id_token.endswith("AAAA") else "BBBB"),):
        with pytest.raises(JWException):
            jwt.JWT(jwt=tampered, key=keys, algs=document["id_token_signing_alg_values_supported"])
    with pytest.raises(JWException):
        jwt.JWT(jwt=id_token, key=keys, check_claims={"nonce": nonce + "-other"})
    return claims


@pytest.mark.parametrize("live", [AUTHLIB_PORT], indirect=True)
def test_authlib_confidential_client_signs_a_person_in(live: Provider) -> None:
    live.person("ana", email="ana@example.org")
    secret = live.client("webapp", first_party=True, redirect_uris=[WEB_REDIRECT])
    document = discovery(live)
    verifier, nonce = generate_token(48), generate_token(20)
    with OAuth2Client(
        client_id="webapp",
        client_secret=secret,
        token_endpoint_auth_method="client_secret_basic",
        redirect_uri=WEB_REDIRECT,
        scope="openid profile email alerts:read",
        code_challenge_method="S256",
    ) as client:
        url, state = client.create_authorization_url(
            document["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        assert parse_qs(urlsplit(url).query)["code_challenge_method"] == ["S256"]
        back = browser_signs_in(url, "ana")
        assert back.startswith(WEB_REDIRECT + "?")
        token = client.fetch_token(
            document["token_endpoint"], authorization_response=back, code_verifier=verifier, state=state
        )
        claims = validated_id_token(
            document, token["id_token"], client_id="webapp", nonce=nonce, access_token=token["access_token"]
        )
        assert (claims["sub"], claims["preferred_username"], claims["email"]) == ("ana", "ana", "ana@example.org")
        assert claims["amr"] == ["pwd"]
        userinfo = client.get(document["userinfo_endpoint"]).json()
        assert userinfo["sub"] == claims["sub"]
        assert userinfo["email"] == "ana@example.org"
        assert set(token["scope"].split()) >= {"openid", "alerts:read"}
        # The refresh token the code grant returned renews through the same library.
        renewed = client.refresh_token(document["token_endpoint"], refresh_token=token["refresh_token"])
        assert renewed["refresh_token"] != token["refresh_token"]


@pytest.mark.parametrize("live", [AUTHLIB_PORT], indirect=True)
def test_authlib_public_native_client_with_totp_on_a_loopback_port(live: Provider) -> None:
    live.person("adm", roles=("admin",))
    totp = live.enrol_totp("adm")
    live.client("native", public=True, first_party=True, redirect_uris=[NATIVE_REDIRECT], role="admin")
    document = discovery(live)
    redirect = "http://127.0.0.1:49152/callback"
    verifier, nonce = generate_token(48), generate_token(20)
    with OAuth2Client(
        client_id="native",
        token_endpoint_auth_method="none",
        redirect_uri=redirect,
        scope="openid admin",
        code_challenge_method="S256",
    ) as client:
        url, state = client.create_authorization_url(
            document["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        back = browser_signs_in(url, "adm", totp)
        assert back.startswith(redirect + "?")  # the port the native app listens on, not the registered one
        token = client.fetch_token(
            document["token_endpoint"], authorization_response=back, code_verifier=verifier, state=state
        )
        with pytest.raises(OAuthError, match="invalid_grant"):  # a code is redeemed once
            client.fetch_token(
                document["token_endpoint"], authorization_response=back, code_verifier=verifier, state=state
            )
    claims = validated_id_token(
        document, token["id_token"], client_id="native", nonce=nonce, access_token=token["access_token"]
    )
    assert claims["sub"] == "adm"
    assert claims["amr"] == ["pwd", "otp", "mfa"]


@pytest.fixture(scope="session")
def oauth4webapi() -> Path:
    """oauth4webapi's module, installed with npm under `$VIGIL_HOME/tools` on first use (never in the repository)."""
    npm = shutil.which("npm")
    assert shutil.which("node"), "Node.js is needed for the oauth4webapi interop test"
    assert npm, "npm is needed to install oauth4webapi"
    home = Path(os.environ.get("VIGIL_HOME", ".vigil")).resolve() / "tools" / f"oauth4webapi-{OAUTH4WEBAPI}"
    module = home / "node_modules" / "oauth4webapi" / "build" / "index.js"
    if not module.exists():
        home.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--prefix", str(home), "--no-audit", "--no-fund", f"oauth4webapi@{OAUTH4WEBAPI}"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"npm install oauth4webapi failed: {done.stderr[-600:]}"
        assert module.exists(), f"npm installed no {module}"
    return module


@pytest.mark.parametrize("live", [NODE_PORT], indirect=True)
def test_oauth4webapi_under_node_signs_a_person_in_with_totp(live: Provider, oauth4webapi: Path) -> None:
    live.person("ben", roles=("admin",), email="ben@example.org")
    totp = live.enrol_totp("ben")
    live.client("spa", public=True, first_party=True, redirect_uris=[NATIVE_REDIRECT], role="admin")
    redirect = "http://127.0.0.1:50505/callback"
    scope = "openid profile email admin"
    args = ["node", str(NODE_FLOW), str(oauth4webapi), live.settings.issuer, "spa", "", redirect, scope]
    with subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as node:
        assert node.stdin is not None
        assert node.stdout is not None
        try:
            started = json.loads(node.stdout.readline() or "{}")
            assert "authorize" in started, started
            back = browser_signs_in(started["authorize"], "ben", totp)
            node.stdin.write(back + "\n")
            node.stdin.flush()
            result = json.loads(node.stdout.readline() or "{}")
            assert node.wait(timeout=60) == 0, result
        finally:
            if node.poll() is None:
                node.kill()
    assert "error" not in result, result
    assert result["claims"]["sub"] == "ben"
    assert result["userinfo"]["sub"] == "ben"
    assert result["userinfo"]["email"] == "ben@example.org"
    nonce = result["claims"]["nonce"]
    claims = validated_id_token(
        discovery(live), result["id_token"], client_id="spa", nonce=nonce, access_token=result["access_token"]
    )
    assert claims == result["claims"]
    assert claims["amr"] == ["pwd", "otp", "mfa"]
