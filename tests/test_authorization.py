"""The authorization matrix: every endpoint of `create_app` x every role (and no token) -> allow or deny.

Data-driven over the routes the app really mounts: a route without an entry in EXPECTED fails the test, so an
endpoint cannot be added without stating who may call it. Tokens are real (the `edge_auth` fixture).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from evidence import EvidenceSettings
from vigil.app import create_app
from vigil.settings import VigilSettings

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Session:
    """A console page: the token travels in the session cookie (never a header) and must hold `scopes`."""

    scopes: frozenset[str] = frozenset()


PUBLIC = "public"  # no credentials needed (health, metrics scrape, the OpenAPI schema, published public keys)
CLIENT_AUTH = "client-auth"  # OAuth endpoints authenticating the client itself (RFC 6749 2.3), not a bearer token

ROLES: dict[str, frozenset[str] | None] = {
    "none": None,
    "admin": frozenset({"admin", "rules:admin"}),
    "analyst": frozenset({"alerts:read", "alerts:triage", "hunt:run"}),
    "auditor": frozenset({"evidence:read", "compliance:read"}),
    "ingest": frozenset({"ingest:write"}),
    "edge": frozenset({"ingest:auth"}),
    "audit-producer": frozenset({"ingest:audit"}),
    "canary-producer": frozenset({"ingest:canary"}),
}

READ_ALERTS, TRIAGE = Session(frozenset({"alerts:read"})), Session(frozenset({"alerts:triage"}))
ADMIN_RULES = Session(frozenset({"rules:admin"}))
READ_EVIDENCE, READ_CONTROLS = Session(frozenset({"evidence:read"})), Session(frozenset({"compliance:read"}))

# Browser pages (no OpenAPI operation: they answer HTML and redirects): the console's and the issuer's sign-in.
BROWSER_PAGES = (
    "/console",
    "/oauth/authorize",
    "/oauth/login",
    "/oauth/consent",
    "/oauth/end_session",
    "/oauth/federation",
)

# (method, path) -> PUBLIC, CLIENT_AUTH, a console Session, or the scopes a bearer token must all carry.
EXPECTED: dict[tuple[str, str], str | Session | frozenset[str]] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/oauth/token"): CLIENT_AUTH,
    ("POST", "/oauth/revoke"): CLIENT_AUTH,
    ("POST", "/oauth/introspect"): CLIENT_AUTH,
    ("GET", "/.well-known/oauth-authorization-server"): PUBLIC,
    ("GET", "/.well-known/openid-configuration"): PUBLIC,
    ("GET", "/.well-known/jwks.json"): PUBLIC,
    # People sign in: browser pages of the OpenID Connect provider, and userinfo for a token holding `openid`.
    ("GET", "/oauth/authorize"): PUBLIC,
    ("POST", "/oauth/authorize"): PUBLIC,
    ("GET", "/oauth/login"): PUBLIC,
    ("POST", "/oauth/login"): PUBLIC,
    ("POST", "/oauth/consent"): PUBLIC,
    ("GET", "/oauth/end_session"): PUBLIC,
    ("POST", "/oauth/end_session"): PUBLIC,
    # "Sign in with <IdP>": to the upstream and back (federation); the upstream vouches, not a token.
    ("GET", "/oauth/federation/{name}/start"): PUBLIC,
    ("GET", "/oauth/federation/{name}/callback"): PUBLIC,
    ("GET", "/oauth/userinfo"): frozenset({"openid"}),
    ("POST", "/oauth/userinfo"): frozenset({"openid"}),
    ("GET", "/.well-known/vigil-evidence-keys.json"): PUBLIC,
    ("GET", "/evidence/bundles"): frozenset({"evidence:read"}),
    ("POST", "/evidence/bundles"): frozenset({"evidence:read"}),
    ("GET", "/evidence/bundles/{name}"): frozenset({"evidence:read"}),
    ("POST", "/ingest/{dataset}"): frozenset({"ingest:write"}),
    # Records detections trust most come only from their producers (issue 13, item 3).
    ("POST", "/ingest/auth"): frozenset({"ingest:auth"}),
    ("POST", "/ingest/audit"): frozenset({"ingest:audit"}),
    # Canary probes feed burn-rate alerts and SLA evidence: only the canary's producer may send them.
    ("POST", "/ingest/canary"): frozenset({"ingest:canary"}),
    # The Elasticsearch-compatible door: every call a shipper makes needs the ingest scope, probes included.
    ("POST", "/v1/logs"): frozenset({"ingest:write"}),
    ("POST", "/_bulk"): frozenset({"ingest:write"}),
    ("PUT", "/_bulk"): frozenset({"ingest:write"}),
    ("POST", "/{index}/_bulk"): frozenset({"ingest:write"}),
    ("PUT", "/{index}/_bulk"): frozenset({"ingest:write"}),
    ("GET", "/"): frozenset({"ingest:write"}),
    ("GET", "/_license"): frozenset({"ingest:write"}),
    ("GET", "/_xpack"): frozenset({"ingest:write"}),
    ("GET", "/_cat/health"): frozenset({"ingest:write"}),
    ("GET", "/_index_template/{name}"): frozenset({"ingest:write"}),
    ("GET", "/_template/{name}"): frozenset({"ingest:write"}),
    ("GET", "/_ilm/policy/{name}"): frozenset({"ingest:write"}),
    ("HEAD", "/_index_template/{name}"): frozenset({"ingest:write"}),
    ("HEAD", "/_template/{name}"): frozenset({"ingest:write"}),
    ("HEAD", "/_ilm/policy/{name}"): frozenset({"ingest:write"}),
    ("HEAD", "/{index}"): frozenset({"ingest:write"}),
    ("GET", "/detections/alerts"): frozenset({"alerts:read"}),
    ("GET", "/detections/alerts/{alert_id}"): frozenset({"alerts:read"}),
    ("POST", "/detections/alerts/acknowledge"): frozenset({"alerts:triage"}),
    ("POST", "/detections/alerts/{alert_id}/acknowledge"): frozenset({"alerts:triage"}),
    ("POST", "/detections/alerts/{alert_id}/notes"): frozenset({"alerts:triage"}),
    ("POST", "/detections/alerts/{alert_id}/resolve"): frozenset({"alerts:triage"}),
    ("PUT", "/detections/alerts/{alert_id}/assignee"): frozenset({"alerts:triage"}),
    ("GET", "/detections/events"): frozenset({"alerts:read"}),
    ("GET", "/detections/exceptions"): frozenset({"alerts:read"}),
    ("POST", "/detections/hunts"): frozenset({"hunt:run"}),
    ("GET", "/detections/hunts/{hunt_id}"): frozenset({"alerts:read"}),
    ("POST", "/detections/exceptions"): frozenset({"rules:admin"}),
    ("DELETE", "/detections/exceptions/{exception_id}"): frozenset({"rules:admin"}),
    ("POST", "/detections/alerts/{alert_id}/exceptions"): frozenset({"rules:admin"}),
    ("GET", "/detections/rules"): frozenset({"alerts:read"}),
    ("GET", "/detections/rules/{rule_id}"): frozenset({"alerts:read"}),
    ("PUT", "/detections/rules/{rule_id}/enabled"): frozenset({"rules:admin"}),
    ("GET", "/compliance/controls"): frozenset({"compliance:read"}),
    ("GET", "/compliance/status"): frozenset({"compliance:read"}),
    ("GET", "/compliance/history"): frozenset({"compliance:read"}),
    ("GET", "/compliance/oscal"): frozenset({"compliance:read"}),
    # A client's transparency report is compliance output (verdicts, SLA figures, alert counts, digests).
    ("GET", "/compliance/transparency/{client}"): frozenset({"compliance:read"}),
    # The console: people sign in once; its pages read the token from the session cookie (see test_matrix).
    ("GET", "/console"): Session(),
    ("GET", "/console/login"): PUBLIC,
    ("POST", "/console/login"): PUBLIC,
    ("GET", "/console/callback"): PUBLIC,
    ("POST", "/console/logout"): Session(),
    ("GET", "/console/overview"): READ_ALERTS,
    ("GET", "/console/alerts"): READ_ALERTS,
    ("POST", "/console/alerts/acknowledge"): TRIAGE,
    ("GET", "/console/alerts/{alert_id}"): READ_ALERTS,
    ("POST", "/console/alerts/{alert_id}/acknowledge"): TRIAGE,
    ("POST", "/console/alerts/{alert_id}/resolve"): TRIAGE,
    ("POST", "/console/alerts/{alert_id}/assign"): TRIAGE,
    ("POST", "/console/alerts/{alert_id}/notes"): TRIAGE,
    ("GET", "/console/events"): READ_ALERTS,
    ("GET", "/console/events/export"): READ_ALERTS,
    ("POST", "/console/alerts/{alert_id}/exceptions"): ADMIN_RULES,
    ("POST", "/console/exceptions/{exception_id}/delete"): ADMIN_RULES,
    ("GET", "/console/rules"): READ_ALERTS,
    ("GET", "/console/rules/{rule_id}"): READ_ALERTS,
    ("GET", "/console/controls"): READ_CONTROLS,
    ("GET", "/console/transparency"): READ_CONTROLS,
    ("GET", "/console/transparency/download"): READ_CONTROLS,
    ("GET", "/console/evidence/{sequence}"): READ_EVIDENCE,
    ("GET", "/console/bundles"): READ_EVIDENCE,
    ("GET", "/console/bundles/{name}"): READ_EVIDENCE,
}

# Values for path parameters and bodies: harmless (nothing is found or built), but well-formed.
PATH_SAMPLES = {
    "sequence": "1",
    "name": "evidence-20260301T000000Z-20260306T000000Z-000000000000.zip",
    "dataset": "access",
}
BODY_SAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/evidence/bundles"): {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"},
    # a rule that does not exist: the hunt is authorized, then refused (404) before any job reaches a queue
    ("POST", "/detections/hunts"): {"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T01:00:00Z", "rules": ["none"]},
}


def endpoints(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every mounted route, routers included lazily by FastAPI as well as plain routes."""

    def declared(methods: set[str], path: str) -> Iterator[tuple[str, str]]:
        # Starlette adds HEAD to every GET route; a HEAD route declared on its own is an endpoint of its own.
        for method in sorted(methods):
            if method != "HEAD" or "GET" not in methods:
                yield method, path

    def walk(routes: list[Any]) -> Iterator[tuple[str, str]]:
        for route in routes:
            candidates = getattr(route, "effective_candidates", None)
            if callable(candidates):
                for inner in candidates():
                    yield from declared(inner.methods or set(), inner.path)
            elif getattr(route, "methods", None) and getattr(route, "path", None):
                yield from declared(route.methods, route.path)
            elif hasattr(route, "routes"):
                yield from walk(route.routes)

    seen = set(walk(list(app.routes)))
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented <= seen, f"the route walk missed {sorted(documented - seen)}"
    return iter(sorted(seen))


@pytest.fixture(scope="module")
def app(
    settings: VigilSettings,
    es: Elasticsearch,
    edge_auth: Any,
    tmp_path_factory: pytest.TempPathFactory,
    apply_indices: Callable[..., None],
) -> Iterator[FastAPI]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    evidence = EvidenceSettings(namespace=prefix)
    apply_indices(prefix, "evidence")
    named = settings.in_namespace(prefix)
    sealed = named.edgeauth.model_copy(update={"key_encryption_key": SecretStr("authorization-test-kek")})
    # GET /console/login shows the page (with the paste form) instead of asking a provider this test does not run.
    console = named.console.model_copy(update={"dev_token_paste": True})
    yield create_app(
        named.model_copy(update={"evidence": evidence, "edgeauth": sealed, "console": console}), guard=edge_auth.guard
    )
    for index in (evidence.locker_index, evidence.bundle_index, evidence.content_index, evidence.bundle_file_index):
        es.options(ignore_status=404).indices.delete(index=index)


def test_every_route_has_an_expectation(app: FastAPI) -> None:
    mounted = set(endpoints(app))
    missing = sorted(mounted - set(EXPECTED))
    assert not missing, f"routes without an authorization expectation (add them to EXPECTED): {missing}"
    stale = sorted(set(EXPECTED) - mounted)
    assert not stale, f"EXPECTED names routes the app no longer mounts: {stale}"


def _cases() -> list[tuple[str, str, str]]:
    return [(method, path, role) for (method, path) in EXPECTED for role in ROLES]


@pytest.mark.parametrize(("method", "path", "role"), _cases())
def test_matrix(app: FastAPI, settings: VigilSettings, edge_auth: Any, method: str, path: str, role: str) -> None:
    expected = EXPECTED[(method, path)]
    url = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PATH_SAMPLES.get(m.group(1), "sample"), path)
    scopes = ROLES[role]
    token = None if scopes is None else edge_auth.token(scopes, subject=f"{role}-1")
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    body = BODY_SAMPLES.get((method, path))
    if isinstance(expected, Session):
        _console_case(client, settings, method, path, url, role, expected, scopes, token)
        return
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = client.request(method, url, headers=headers, json=body)
    status = response.status_code
    assert status < 500, f"{method} {path} as {role}: {status} {response.text[:200]}"
    if expected == PUBLIC:
        assert status not in {401, 403}, f"{method} {path} is public but refused {role}: {status}"
    elif expected == CLIENT_AUTH:
        # A bearer token is not client authentication: without client credentials the request is refused.
        assert status in {400, 401}, f"{method} {path} as {role} without client credentials: {status}"
    elif scopes is None:
        assert status == 401, f"{method} {path} without a token: {status}"
        assert response.headers.get("www-authenticate", "").startswith("Bearer")
    elif not isinstance(expected, str) and expected <= scopes:
        assert status not in {401, 403}, f"{method} {path} should allow {role}: {status} {response.text[:200]}"
    else:
        assert status == 403, f"{method} {path} should refuse {role} (lacks {sorted(set(expected) - scopes)}): {status}"
        assert "insufficient_scope" in response.headers.get("www-authenticate", "")


def _console_case(
    client: TestClient,
    settings: VigilSettings,
    method: str,
    path: str,
    url: str,
    role: str,
    expected: Session,
    scopes: frozenset[str] | None,
    token: str | None,
) -> None:
    if token is None:
        response = client.request(method, url)
        assert response.status_code == 303, f"{method} {path} without a session: {response.status_code}"
        assert response.headers["location"].startswith("/console/login")
        return
    # A bearer header is never a console session.
    header_only = client.request(method, url, headers={"Authorization": f"Bearer {token}"})
    assert header_only.status_code == 303, f"{method} {path} accepted a bearer header: {header_only.status_code}"
    session_id, _ = client.app.state.console_sessions.open(  # type: ignore[attr-defined]
        subject=f"{role}-1", display_name=role, via="token-paste", access_token=SecretStr(token), access_expires_at=0
    )
    client.cookies.set(settings.console.cookie_name, session_id)
    response = client.request(method, url)
    status = response.status_code
    assert status < 500, f"{method} {path} as {role}: {status} {response.text[:200]}"
    assert scopes is not None
    if expected.scopes <= scopes:
        redirected_to_login = status == 303 and response.headers["location"].startswith("/console/login")
        assert not redirected_to_login, f"{method} {path} should allow {role}'s session"
        assert status not in {401, 403}, f"{method} {path} should allow {role}: {status}"
    else:
        assert status == 403, f"{method} {path} should refuse {role}'s session: {status}"
