"""RFC 7523 `private_key_jwt` client authentication, and the authlib/JOSE CVE classes that apply to it."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt as pyjwt
import pytest
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from cryptography.hazmat.primitives import hashes, hmac, serialization
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from tests.edgeauth.issuer.conftest import TOKEN_URL, IssuerHarness, basic

pytestmark = pytest.mark.integration


@pytest.fixture
def es_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "client-es", "alg": "ES256"})


def _register(harness: IssuerHarness, key: ECKey | RSAKey | OKPKey, client_id: str = "svc-jwt") -> None:
    public = key.as_dict(private=False)
    harness.client(client_id, role="ingest", jwks={"keys": [public]})


def _post(harness: IssuerHarness, assertion: str, **form: str) -> Any:
    return harness.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            **form,
        },
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(client_id: str = "svc-jwt", **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": now + 60,
        "iat": now,
        "jti": uuid.uuid4().hex,
        **overrides,
    }


def test_private_key_jwt_authenticates_once_per_assertion(harness: IssuerHarness, es_key: ECKey) -> None:
    _register(harness, es_key)
    assertion = private_key_jwt_sign(es_key, client_id="svc-jwt", token_endpoint=TOKEN_URL, alg="ES256")
    response = _post(harness, assertion)
    assert response.status_code == 200, response.text
    harness.replica.load_snapshot()
    assert harness.verifier.verify(response.json()["access_token"], ["ingest:write"]).client_id == "svc-jwt"
    replay = _post(harness, assertion)
    assert replay.status_code in (400, 401)
    assert replay.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("alg", "key"),
    [
        ("RS256", RSAKey.generate_key(2048, parameters={"kid": "k-rs", "alg": "RS256"}, private=True)),
        ("ES256", ECKey.generate_key("P-256", parameters={"kid": "k-es", "alg": "ES256"}, private=True)),
        ("EdDSA", OKPKey.generate_key("Ed25519", parameters={"kid": "k-ed", "alg": "EdDSA"}, private=True)),
    ],
)
def test_every_published_signing_algorithm_works_for_client_keys(
    harness: IssuerHarness, alg: str, key: RSAKey | ECKey | OKPKey
) -> None:
    metadata = harness.http.get("/.well-known/oauth-authorization-server").json()
    assert alg in metadata["token_endpoint_auth_signing_alg_values_supported"]
    harness.client("svc-jwt", role="ingest", jwks={"keys": [key.as_dict(private=False)]})
    assertion = private_key_jwt_sign(key, client_id="svc-jwt", token_endpoint=TOKEN_URL, alg=alg)
    response = _post(harness, assertion)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "https://somewhere.else/token"},
        {"iss": "someone-else"},
        {"exp": int(time.time()) - 600},
        {"exp": int(time.time()) + 86400},  # longer than assertion_max_lifetime
        {"jti": None},
    ],
)
def test_bad_assertion_claims_are_refused(harness: IssuerHarness, es_key: ECKey, overrides: dict[str, Any]) -> None:
    _register(harness, es_key)
    claims = {k: v for k, v in _claims(**overrides).items() if v is not None}
    assertion = jose_jwt.encode({"alg": "ES256", "kid": "client-es"}, claims, es_key)
    response = _post(harness, assertion)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


def test_assertion_signed_by_another_key_is_refused(harness: IssuerHarness, es_key: ECKey) -> None:
    _register(harness, es_key)
    intruder = ECKey.generate_key("P-256", parameters={"kid": "client-es"})
    assertion = jose_jwt.encode({"alg": "ES256", "kid": "client-es"}, _claims(), intruder)
    assert _post(harness, assertion).json()["error"] == "invalid_client"


def test_secret_client_cannot_use_an_assertion(harness: IssuerHarness, es_key: ECKey) -> None:
    harness.client("secret-client", role="ingest")
    assertion = jose_jwt.encode({"alg": "ES256"}, _claims("secret-client"), es_key)
    assert _post(harness, assertion).json()["error"] == "invalid_client"


def test_hs256_signed_with_the_public_key_is_refused(harness: IssuerHarness) -> None:
    """Key confusion (CVE-2024-37568 in authlib, CVE-2022-29217 in pyjwt): HMAC keyed with a public RSA key."""
    rsa_key = RSAKey.generate_key(2048, parameters={"kid": "client-rsa", "alg": "RS256"})
    _register(harness, rsa_key)
    pem = rsa_key.as_pem(private=False)
    header = _b64(json.dumps({"alg": "HS256", "kid": "client-rsa", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    mac = hmac.HMAC(pem, hashes.SHA256())
    mac.update(f"{header}.{payload}".encode())
    forged = f"{header}.{payload}.{_b64(mac.finalize())}"
    response = _post(harness, forged)
    assert response.json()["error"] == "invalid_client"
    # CVE-2026-28802 (authlib 1.6.5-1.6.6 accepted `alg: none` with an empty signature).
    unsigned = f"{_b64(json.dumps({'alg': 'none', 'kid': 'client-rsa'}).encode())}.{payload}."
    assert _post(harness, unsigned).json()["error"] == "invalid_client"
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert serialization.load_pem_public_key(pem) is not None


@pytest.mark.parametrize("header", ["jwk", "jku", "x5u"])
def test_keys_named_by_the_assertion_itself_are_ignored(harness: IssuerHarness, es_key: ECKey, header: str) -> None:
    """CVE-2026-27962 (authlib trusted an embedded `jwk` header): only the registered key counts."""
    _register(harness, es_key)
    attacker = ECKey.generate_key("P-256", parameters={"kid": "client-es"}, private=True)
    values: dict[str, Any] = {
        "jwk": attacker.as_dict(private=False),
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
    }
    forged = pyjwt.encode(
        _claims(),
        attacker.as_pem(private=True),
        algorithm="ES256",
        headers={"kid": "client-es", header: values[header]},
    )
    assert _post(harness, forged).json()["error"] == "invalid_client"


def test_unknown_critical_header_is_refused(harness: IssuerHarness, es_key: ECKey) -> None:
    """CVE-2025-59420 (authlib ignored `crit`): an assertion with a critical extension we do not know fails."""
    _register(harness, es_key)
    # joserfc will not even sign such a header, so pyjwt does.
    assertion = pyjwt.encode(
        _claims(),
        es_key.as_pem(private=True),
        algorithm="ES256",
        headers={"kid": "client-es", "crit": ["x-unknown"], "x-unknown": 1},
    )
    control = pyjwt.encode(_claims(), es_key.as_pem(private=True), algorithm="ES256", headers={"kid": "client-es"})
    assert _post(harness, control).status_code == 200
    assert _post(harness, assertion).json()["error"] == "invalid_client"


def test_oversized_and_many_segment_assertions_are_refused_cheaply(harness: IssuerHarness, es_key: ECKey) -> None:
    """CVE-2025-61920 (unbounded JOSE segments): the form size bound stops them before any decoding."""
    _register(harness, es_key)
    huge = "a" * 20000 + "." + "b" * 20000 + "." + "c"
    response = _post(harness, huge)
    assert response.status_code == 413
    dotted = ".".join(["eyJhbGciOiJFUzI1NiJ9"] * 50)
    assert _post(harness, dotted).json()["error"] == "invalid_client"
    not_json = f"{_b64(b'not json')}.{_b64(b'[1,2]')}.{_b64(b'sig')}"
    assert _post(harness, not_json).json()["error"] == "invalid_client"


def test_two_client_authentication_methods_in_one_request_are_refused(harness: IssuerHarness, es_key: ECKey) -> None:
    """RFC 6749 2.3: one method per request. authlib alone would accept whichever method it tried first."""
    _register(harness, es_key)
    secret = harness.client("svc-secret")
    assertion = jose_jwt.encode({"alg": "ES256"}, _claims(), es_key)
    assert _post(harness, assertion).status_code == 200  # the assertion alone is good
    both = harness.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jose_jwt.encode({"alg": "ES256"}, _claims(), es_key),
        },
        headers=basic("svc-secret", secret),
    )
    assert both.status_code == 400
    assert both.json()["error"] == "invalid_request"
    post_and_basic = harness.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "svc-secret", "client_secret": secret},
        headers=basic("svc-secret", secret),
    )
    assert post_and_basic.status_code == 400
    assert post_and_basic.json()["error"] == "invalid_request"
    for path in ("/oauth/revoke", "/oauth/introspect"):
        doubled = harness.http.post(
            path,
            data={"token": "x", "client_id": "svc-secret", "client_secret": secret},
            headers=basic("svc-secret", secret),
        )
        assert doubled.status_code == 400, path
    events = [e for e in harness.events() if e.reason == "invalid_request"]
    assert len(events) == 4
