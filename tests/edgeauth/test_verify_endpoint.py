"""`GET /verify` for reverse proxies and the ASGI middleware: identity headers, challenges, scope rules."""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from edgeauth import (
    EdgeAuthMiddleware,
    EdgeAuthSettings,
    JwksCache,
    ScopeRule,
    SigningKey,
    Verifier,
    create_verify_router,
)
from edgeauth.edge.request import header_value, normalized_path
from edgeauth.edge.rfc6750 import bearer_token
from edgeauth.errors import OddRequest
from tests.edgeauth.hostile import ISSUER, claims, header, rsa_sign

KEY = SigningKey.generate()
RULES = [
    ScopeRule(method="POST", path_prefix="/api/ingest", scopes=("ingest:write",)),
    ScopeRule(path_prefix="/api/admin", scopes=("admin",)),
    ScopeRule(method="GET", path_prefix="/api/alerts", scopes=("alerts:read",)),
]


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    edge = EdgeAuthSettings(issuer=ISSUER, scope_rules=RULES)
    return Verifier(edge, JwksCache(edge, initial={"keys": [KEY.public_jwk()]}))


@pytest.fixture(scope="module")
def client(verifier: Verifier) -> TestClient:
    app = FastAPI()
    app.include_router(create_verify_router(verifier))
    return TestClient(app)


def token(scope: str, **kw: object) -> str:
    return rsa_sign(KEY, header(KEY), claims(scope=scope, **kw))


def ask(client: TestClient, tok: str | None, method: str = "GET", uri: str = "/api/alerts") -> object:
    headers = {"X-Original-Method": method, "X-Original-URI": uri}
    if tok is not None:
        headers["Authorization"] = f"Bearer {tok}"
    return client.get("/verify", headers=headers)


def test_allowed_request_gets_identity_headers(client: TestClient) -> None:
    response = client.get(
        "/verify",
        headers={
            "Authorization": f"Bearer {token('alerts:read alerts:triage', jti='v1')}",
            "X-Original-URI": "/api/alerts?x=1",
        },
    )
    assert response.status_code == 200
    assert response.headers["x-auth-subject"] == "mallory"
    assert response.headers["x-auth-client"] == "c"
    assert response.headers["x-auth-scopes"] == "alerts:read alerts:triage"
    assert response.headers["x-auth-token-id"] == "v1"


def test_missing_scope_by_method_and_prefix_is_403(client: TestClient) -> None:
    tok = token("alerts:read")
    response = client.get(
        "/verify",
        headers={"Authorization": f"Bearer {tok}", "X-Original-Method": "POST", "X-Original-URI": "/api/ingest/events"},
    )
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert 'scope="ingest:write"' in response.headers["www-authenticate"]
    # The same token on a GET of the same prefix matches no ingest rule.
    response = client.get(
        "/verify",
        headers={"Authorization": f"Bearer {tok}", "X-Original-Method": "GET", "X-Original-URI": "/api/ingest/events"},
    )
    assert response.status_code == 200


def test_dot_segments_and_encoding_cannot_dodge_a_rule(client: TestClient) -> None:
    tok = token("alerts:read")
    for uri in ("/api/alerts/../admin/keys", "/api/%61dmin/keys", "//api/admin", "/api/./admin"):
        response = client.get("/verify", headers={"Authorization": f"Bearer {tok}", "X-Original-URI": uri})
        assert response.status_code == 403, uri


def test_no_token_is_a_bare_challenge(client: TestClient) -> None:
    response = client.get("/verify", headers={"X-Original-URI": "/api/alerts"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="vigil", scope="alerts:read"'
    assert response.json()["reason"] == "missing_token"


def test_claims_cannot_inject_headers(client: TestClient) -> None:
    tok = token("alerts:read", sub="eve\r\nX-Auth-Scopes: admin", client_id="ünï")
    response = client.get("/verify", headers={"Authorization": f"Bearer {tok}", "X-Original-URI": "/api/alerts"})
    assert response.status_code == 200
    assert response.headers["x-auth-subject"] == "eve%0D%0AX-Auth-Scopes: admin"
    assert response.headers["x-auth-client"] == "%C3%BCn%C3%AF"
    assert response.headers["x-auth-scopes"] == "alerts:read"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER  abc ", "abc")],
)
def test_bearer_token_parsing(value: str, expected: str) -> None:
    assert bearer_token(value) == expected


@pytest.mark.parametrize("value", [None, "", "Basic abc", "Bearer", "Bearer a b", "Token abc"])
def test_bearer_token_refusals(value: str | None) -> None:
    from edgeauth import VerificationError

    with pytest.raises(VerificationError):
        bearer_token(value)


def test_path_normalization() -> None:
    assert normalized_path("/a/b/../c?q=1") == "/a/c"
    assert normalized_path("") == "/"
    assert normalized_path("/a/%2e%2e/b") == "/b"
    assert normalized_path("/a/") == "/a/"
    assert header_value("a\tb") == "a%09b"


def test_middleware_guards_every_route(verifier: Verifier) -> None:
    app = FastAPI()

    @app.get("/api/admin/keys")
    def keys(request: Request) -> dict[str, str]:
        return {"subject": request.state.principal.subject}

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_middleware(EdgeAuthMiddleware, verifier=verifier, exempt=("/healthz",))
    client = TestClient(app)
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/admin/keys").status_code == 401
    weak = client.get("/api/admin/keys", headers={"Authorization": f"Bearer {token('alerts:read')}"})
    assert weak.status_code == 403
    assert weak.json()["reason"] == "insufficient_scope"
    ok = client.get("/api/admin/keys", headers={"Authorization": f"Bearer {token('admin')}"})
    assert ok.json() == {"subject": "mallory"}


def test_envoy_style_checks_carry_the_original_method_and_path(client: TestClient) -> None:
    reader = token("alerts:read")
    assert client.get("/verify/api/alerts/3", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    denied = client.post("/verify/api/ingest/batch", headers={"Authorization": f"Bearer {reader}"})
    assert denied.status_code == 403
    assert 'scope="ingest:write"' in denied.headers["www-authenticate"]
    writer = token("ingest:write")
    assert client.post("/verify/api/ingest/batch", headers={"Authorization": f"Bearer {writer}"}).status_code == 200
    assert client.delete("/verify/api/admin/x", headers={"Authorization": f"Bearer {writer}"}).status_code == 403


# -- issue 13 item 8: a rule matches every spelling of its path and method ------------------------------------


@pytest.mark.parametrize(
    "uri",
    ["/api/ADMIN/keys", "/API/Admin", "/api/%2561dmin/keys", "/api/%252561dmin", "/api/%41DMIN", "/api/admin%2fkeys"],
)
def test_case_and_repeated_encoding_cannot_dodge_a_rule(client: TestClient, uri: str) -> None:
    response = client.get("/verify", headers={"Authorization": f"Bearer {token('alerts:read')}", "X-Original-URI": uri})
    assert response.status_code == 403, uri
    assert 'scope="admin"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("method", ["POST ", " post", "Post", "\tPOST"])
def test_a_padded_or_lower_case_method_meets_its_rule(client: TestClient, method: str) -> None:
    response = client.get(
        "/verify",
        headers={
            "Authorization": f"Bearer {token('alerts:read')}",
            "X-Original-Method": method,
            "X-Original-URI": "/api/ingest/batch",
        },
    )
    assert response.status_code == 403
    assert 'scope="ingest:write"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("method", "uri"),
    [
        ("GET", "/api/%00admin"),
        ("GET", "/api\\admin"),
        ("GET", "/api/%5cadmin"),
        ("GET", "/api/%ff"),
        ("GET", "/%25252525252561dmin"),
        ("PO ST", "/api/ingest"),
        ("", "/api/alerts"),
        ("GET1", "/api/alerts"),
    ],
)
def test_odd_requests_are_refused(client: TestClient, method: str, uri: str) -> None:
    response = client.get(
        "/verify",
        headers={"Authorization": f"Bearer {token('admin')}", "X-Original-Method": method, "X-Original-URI": uri},
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "odd_request"


def test_a_case_sensitive_rule_keeps_its_case() -> None:
    settings = EdgeAuthSettings(
        issuer=ISSUER, scope_rules=[ScopeRule(path_prefix="/Files", scopes=("files",), case_sensitive=True)]
    )
    assert settings.scopes_for("GET", "/Files/a") == ("files",)
    assert settings.scopes_for("GET", "/files/a") == ()
    folded = EdgeAuthSettings(issuer=ISSUER, scope_rules=[ScopeRule(path_prefix="/Files", scopes=("files",))])
    assert folded.scopes_for("get", "/FILES/a") == ("files",)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_normalisation_is_a_fixed_point(text: str) -> None:
    """Whatever a path becomes is what it would become again: no second decoding can reveal another route."""
    uri = "/" + quote(text, safe="/%")
    try:
        once = normalized_path(uri)
    except OddRequest:
        return
    assert normalized_path(quote(once, safe="/")) == once
    assert unquote(once) == once or "%" not in unquote(once)
