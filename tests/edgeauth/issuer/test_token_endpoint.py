"""The token endpoint end to end on the real Redis: grants, client authentication, policy, decision events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from edgeauth import SigningKey
from edgeauth.errors import VerificationError
from tests.edgeauth.issuer.conftest import IssuerHarness, basic

pytestmark = pytest.mark.integration


def test_client_credentials_mints_an_rfc9068_token_the_verifier_accepts(harness: IssuerHarness) -> None:
    secret = harness.client("analyst-1")
    response = harness.token("analyst-1", secret)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert "refresh_token" not in body
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    harness.replica.load_snapshot()
    principal = harness.verifier.verify(body["access_token"], ["alerts:read"])
    assert principal.subject == "analyst-1"
    assert principal.client_id == "analyst-1"
    assert principal.scopes == frozenset({"alerts:read", "alerts:triage", "hunt:run"})
    assert principal.audience == ("vigil",)
    assert principal.claims["iss"] == harness.settings.issuer
    events = harness.events()
    assert [(e.action, e.outcome, e.reason) for e in events] == [("token", "success", "ok")]
    assert events[0].jti == principal.token_id
    assert events[0].kid == header["kid"]


def test_client_secret_post_and_narrowed_scope(harness: IssuerHarness) -> None:
    secret = harness.client("analyst-2")
    response = harness.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "analyst-2",
            "client_secret": secret,
            "scope": "alerts:read",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "alerts:read"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"scope": "admin"}, 400, "invalid_scope"),
        ({"scope": "no-such-scope"}, 400, "invalid_scope"),
        ({"audience": "elsewhere"}, 400, "invalid_target"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        # The grant exists (people sign in with it) but this machine client may not use it.
        ({"grant_type": "authorization_code", "code": "x"}, 400, "unauthorized_client"),
    ],
)
def test_policy_refusals(harness: IssuerHarness, form: dict[str, str], status: int, error: str) -> None:
    secret = harness.client("analyst-3")
    response = harness.token("analyst-3", secret, **form)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_audience_per_request_within_the_clients_audiences(harness: IssuerHarness) -> None:
    secret = harness.client("multi", audiences=["vigil", "reports"])
    both = harness.token("multi", secret).json()["access_token"]
    assert jwt.decode(both, options={"verify_signature": False})["aud"] == ["vigil", "reports"]
    one = harness.token("multi", secret, audience="reports").json()["access_token"]
    assert jwt.decode(one, options={"verify_signature": False})["aud"] == "reports"


@pytest.mark.parametrize(
    "headers",
    [
        basic("analyst-4", "wrong"),
        basic("nobody", "whatever"),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + "gICA"},  # base64 of bytes that are not UTF-8
        {},
    ],
)
def test_failed_client_authentication_is_an_authentication_event(
    harness: IssuerHarness, headers: dict[str, str]
) -> None:
    harness.client("analyst-4")
    response = harness.http.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"
    if "Authorization" in headers:
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
    events = harness.events()
    assert [(e.action, e.outcome, e.reason) for e in events] == [("client_auth", "failure", "invalid_client")]
    assert events[0].source_ip == "testclient"


def test_disabled_client_cannot_authenticate(harness: IssuerHarness) -> None:
    secret = harness.client("gone")
    assert harness.token("gone", secret).status_code == 200
    harness.issuer.registry.set_disabled("gone", True, actor="test")
    response = harness.token("gone", secret)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_rotated_secret_replaces_the_old_one(harness: IssuerHarness) -> None:
    old = harness.client("rot")
    issued = harness.issuer.registry.rotate("rot", actor="test")
    assert issued.client_secret is not None
    assert harness.token("rot", old).status_code == 401
    assert harness.token("rot", issued.client_secret.get_secret_value()).status_code == 200


def test_engagement_bounds_auditor_tokens(harness: IssuerHarness) -> None:
    now = datetime.now(UTC)
    future = harness.client(
        "auditor-later", role="auditor", engagement=(now + timedelta(days=1), now + timedelta(days=5))
    )
    past = harness.client("auditor-past", role="auditor", engagement=(now - timedelta(days=5), now - timedelta(days=1)))
    ends = now + timedelta(seconds=120)
    current = harness.client("auditor-now", role="auditor", engagement=(now - timedelta(days=1), ends))
    for client_id, secret in (("auditor-later", future), ("auditor-past", past)):
        response = harness.token(client_id, secret)
        assert response.status_code == 400
        assert response.json()["error"] == "unauthorized_client"
    response = harness.token("auditor-now", current)
    assert response.status_code == 200
    harness.replica.load_snapshot()
    principal = harness.verifier.verify(response.json()["access_token"], ["evidence:read"])
    assert principal.claims["engagement"] == {"from": (now - timedelta(days=1)).isoformat(), "to": ends.isoformat()}
    # The token never outlives the engagement, whatever the configured lifetime.
    assert principal.expires_at <= ends


def test_refresh_rotation_and_reuse_revokes_the_family(harness: IssuerHarness) -> None:
    secret = harness.client("svc", role="ingest", refresh_tokens=True)
    first = harness.token("svc", secret).json()
    assert "refresh_token" in first

    def refresh(token: str) -> dict[str, str]:
        response = harness.http.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token}, headers=basic("svc", secret)
        )
        return dict(response.json())

    second = refresh(first["refresh_token"])
    assert "access_token" in second
    assert second["refresh_token"] != first["refresh_token"]
    harness.replica.load_snapshot()
    harness.verifier.verify(second["access_token"], ["ingest:write"])

    reused = refresh(first["refresh_token"])
    assert reused["error"] == "invalid_grant"
    # The whole family is gone: the successor refresh token and the access tokens minted from the family.
    assert refresh(second["refresh_token"])["error"] == "invalid_grant"
    harness.replica.poll(0)
    harness.verifier.forget()
    for access in (first["access_token"], second["access_token"]):
        with pytest.raises(VerificationError) as refused:
            harness.verifier.verify(access)
        assert refused.value.reason == "revoked"
    reasons = [e.reason for e in harness.events() if e.outcome == "failure"]
    assert reasons[0] == "refresh_reuse"


def test_refresh_token_of_another_client_is_refused(harness: IssuerHarness) -> None:
    secret_a = harness.client("a", role="ingest", refresh_tokens=True)
    secret_b = harness.client("b", role="ingest", refresh_tokens=True)
    refresh_a = harness.token("a", secret_a).json()["refresh_token"]
    response = harness.http.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_a}, headers=basic("b", secret_b)
    )
    assert response.json()["error"] == "invalid_grant"
    assert harness.token("b", secret_b, scope="ingest:write").status_code == 200


def test_refresh_cannot_widen_scope(harness: IssuerHarness) -> None:
    secret = harness.client("narrow", role="analyst", refresh_tokens=True)
    first = harness.token("narrow", secret, scope="alerts:read").json()
    response = harness.http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "scope": "alerts:triage"},
        headers=basic("narrow", secret),
    )
    assert response.json()["error"] == "invalid_scope"


def test_unknown_and_known_ids_fail_alike(harness: IssuerHarness) -> None:
    """No enumeration: a wrong secret for a real id and any secret for an unknown id get the same answer."""
    harness.client("real-id")
    harness.client("jwt-id", jwks={"keys": [SigningKey.generate("ES256").public_jwk()]})
    answers = []
    for client_id in ("real-id", "jwt-id", "no-such-id"):
        for form in ({}, {"client_id": client_id, "client_secret": "guess"}):
            headers = basic(client_id, "guess") if not form else {}
            response = harness.http.post(
                "/oauth/token", data={"grant_type": "client_credentials", **form}, headers=headers
            )
            answers.append((bool(form), response.status_code, response.json()))
    assert len({repr(a) for a in answers if a[0]}) == 1
    assert len({repr(a) for a in answers if not a[0]}) == 1
