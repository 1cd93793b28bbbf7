"""Hostile and broken input at every issuer endpoint: a precise 4xx, never a 5xx. Plus limits and metadata."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from edgeauth.errors import KeyStoreError, RevokedToken
from edgeauth.issuer import ClientNotFound, RateLimited
from edgeauth.issuer.http import oauth_error
from tests.edgeauth.issuer.conftest import ISSUER_URL, IssuerHarness, basic, build, make_settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("content", "headers", "status", "error"),
    [
        (b'{"grant_type": "client_credentials"}', {"Content-Type": "application/json"}, 400, "invalid_request"),
        (b"grant_type=client_credentials&grant_type=password", {}, 400, "invalid_request"),
        (b"grant_type=client_credentials&scope=\xff\xfe", {}, 400, "invalid_request"),
        (b"a=" + b"x" * 20000, {}, 413, "invalid_request"),
        (b"&".join(b"f%d=1" % i for i in range(100)), {}, 400, "invalid_request"),
        (b"", {}, 400, "unsupported_grant_type"),
        (b"grant_type=", {}, 400, "unsupported_grant_type"),
    ],
)
def test_broken_bodies(
    harness: IssuerHarness, content: bytes, headers: dict[str, str], status: int, error: str
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        response = harness.http.post(path, content=content, headers=headers)
        assert response.status_code < 500
        if path == "/oauth/token":
            assert response.status_code == status, response.text
            assert response.json()["error"] == error


def test_hostile_client_ids_never_reach_storage(harness: IssuerHarness) -> None:
    for client_id in ("../../etc", "a" * 5000, "*", "x\r\nInjected: 1", "\u0000"):
        response = harness.http.post(
            "/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "s"}
        )
        assert response.status_code in (400, 401)
        assert response.json()["error"] == "invalid_client"


def test_metadata_and_jwks(harness: IssuerHarness) -> None:
    metadata = harness.http.get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == ISSUER_URL
    assert metadata["token_endpoint"] == ISSUER_URL + "/oauth/token"
    assert metadata["jwks_uri"] == ISSUER_URL + "/.well-known/jwks.json"
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert metadata["grant_types_supported"] == ["authorization_code", "client_credentials", "refresh_token"]
    assert metadata["authorization_endpoint"] == ISSUER_URL + "/oauth/authorize"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["introspection_endpoint"] == ISSUER_URL + "/oauth/introspect"
    assert metadata["revocation_endpoint"] == ISSUER_URL + "/oauth/revoke"
    secret = harness.client("c1")
    access = harness.token("c1", secret).json()["access_token"]
    jwks = harness.http.get("/.well-known/jwks.json").json()
    # The active key and its successor are both published; no private member ever is.
    assert len(jwks["keys"]) == 2
    assert all(not {"d", "p", "q"} & set(k) for k in jwks["keys"])
    token = jose_jwt.decode(access, KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert token.claims["client_id"] == "c1"


def test_openid_discovery_serves_the_same_metadata(harness: IssuerHarness) -> None:
    metadata = harness.http.get("/.well-known/oauth-authorization-server").json()
    discovery = harness.http.get("/.well-known/openid-configuration").json()
    assert {k: v for k, v in discovery.items() if k in metadata} == metadata
    assert discovery["subject_types_supported"] == ["public"]
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256", "ES256", "EdDSA"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    form=st.dictionaries(
        st.sampled_from(
            [
                "grant_type",
                "scope",
                "client_id",
                "client_secret",
                "refresh_token",
                "audience",
                "client_assertion",
                "client_assertion_type",
                "token",
                "token_type_hint",
                "x",
            ]
        ),
        st.one_of(
            st.sampled_from(
                [
                    "client_credentials",
                    "refresh_token",
                    "fuzz",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ]
            ),
            st.text(max_size=64),
        ),
        max_size=6,
    ),
    authorization=st.one_of(
        st.none(),
        st.text(max_size=40).map(lambda t: "Basic " + base64.b64encode(t.encode("utf-8", "surrogatepass")).decode()),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    ),
    path=st.sampled_from(["/oauth/token", "/oauth/revoke", "/oauth/introspect"]),
)
def test_fuzzed_requests_never_fail_the_server(
    harness: IssuerHarness, form: dict[str, str], authorization: str | None, path: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = harness.http.post(path, data=form, headers=headers)
    assert response.status_code < 500, response.text
    assert "error" in response.json() or response.status_code == 200


def test_fuzz_also_hits_a_real_client(harness: IssuerHarness) -> None:
    # A registered client with a known secret so that fuzzed grants reach the grant logic, not only client auth.
    secret = harness.client("fuzz-target", refresh_tokens=True)
    for form in (
        {"grant_type": "refresh_token"},
        {"grant_type": "refresh_token", "refresh_token": "\x00" * 300},
        {"grant_type": "client_credentials", "scope": " "},
        {"grant_type": "client_credentials", "audience": ""},
        {"grant_type": "client_credentials", "scope": "alerts:read alerts:read"},
    ):
        response = harness.http.post("/oauth/token", data=form, headers=basic("fuzz-target", secret))
        assert response.status_code < 500, (form, response.text)


def test_unreachable_redis_is_a_503_not_a_500(redis_namespace: str) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    built = build(dead, make_settings(redis_namespace))
    with built.http:
        response = built.http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic("someone", "secret")
        )
        assert response.status_code == 503
        assert response.json()["error"] == "temporarily_unavailable"
        assert built.http.get("/.well-known/jwks.json").status_code == 503


def test_error_handler_renders_every_edgeauth_error_as_oauth_json() -> None:
    cases = [
        (RateLimited("client", 7), 429, "temporarily_unavailable"),
        (ClientNotFound("x"), 404, "invalid_client"),
        (RevokedToken("token has been revoked"), 401, "invalid_token"),
        (KeyStoreError('cannot decrypt "key"\nsecond line'), 503, "temporarily_unavailable"),
    ]
    for error, status, code in cases:
        response = oauth_error(error)
        assert response.status_code == status
        body = json.loads(bytes(response.body))
        assert body["error"] == code
        assert all(0x20 <= ord(ch) <= 0x7E and ch not in '"\\' for ch in body["error_description"])
        assert response.headers["cache-control"] == "no-store"
    assert oauth_error(cases[0][0]).headers["retry-after"] == "7"
    assert oauth_error(cases[2][0]).headers["www-authenticate"].startswith("Bearer ")
