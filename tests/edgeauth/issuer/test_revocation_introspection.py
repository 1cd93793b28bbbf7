"""RFC 7009 revocation reaches the verifier's replica; RFC 7662 introspection needs an authenticated caller."""

from __future__ import annotations

import pytest

from edgeauth import SigningKey, mint_access_token
from edgeauth.errors import VerificationError
from tests.edgeauth.issuer.conftest import IssuerHarness, basic

pytestmark = pytest.mark.integration


def test_revoked_access_token_is_refused_by_a_verifier(harness: IssuerHarness) -> None:
    secret = harness.client("ingest-1", role="ingest")
    access = harness.token("ingest-1", secret).json()["access_token"]
    harness.replica.load_snapshot()
    principal = harness.verifier.verify(access, ["ingest:write"])
    response = harness.http.post(
        "/oauth/revoke", data={"token": access, "token_type_hint": "access_token"}, headers=basic("ingest-1", secret)
    )
    assert response.status_code == 200
    assert harness.replica.poll(0) == 1
    with pytest.raises(VerificationError) as refused:
        harness.verifier.verify(access, ["ingest:write"])
    assert refused.value.reason == "revoked"
    revoke_events = [e for e in harness.events() if e.action == "revoke"]
    assert [(e.outcome, e.jti) for e in revoke_events] == [("success", principal.token_id)]


def test_revocation_with_a_wrong_hint_still_revokes(harness: IssuerHarness) -> None:
    secret = harness.client("c", role="ingest")
    access = harness.token("c", secret).json()["access_token"]
    harness.http.post(
        "/oauth/revoke", data={"token": access, "token_type_hint": "refresh_token"}, headers=basic("c", secret)
    )
    harness.replica.load_snapshot()
    with pytest.raises(VerificationError, match="revoked"):
        harness.verifier.verify(access)


def test_revoking_a_refresh_token_ends_its_family(harness: IssuerHarness) -> None:
    secret = harness.client("svc", role="ingest", refresh_tokens=True)
    first = harness.token("svc", secret).json()
    response = harness.http.post("/oauth/revoke", data={"token": first["refresh_token"]}, headers=basic("svc", secret))
    assert response.status_code == 200
    again = harness.http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=basic("svc", secret),
    )
    assert again.json()["error"] == "invalid_grant"
    harness.replica.load_snapshot()
    with pytest.raises(VerificationError, match="revoked"):
        harness.verifier.verify(first["access_token"])


def test_revocation_rules(harness: IssuerHarness) -> None:
    secret_a = harness.client("a", role="ingest")
    secret_b = harness.client("b", role="ingest")
    access_a = harness.token("a", secret_a).json()["access_token"]
    # Unknown or garbage tokens: 200 with nothing to do (RFC 7009 2.2).
    assert (
        harness.http.post("/oauth/revoke", data={"token": "garbage"}, headers=basic("a", secret_a)).status_code == 200
    )
    # Another client's token: refused, and the token stays valid.
    other = harness.http.post("/oauth/revoke", data={"token": access_a}, headers=basic("b", secret_b))
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_grant"
    # No credentials, no token parameter, unsupported hint.
    assert harness.http.post("/oauth/revoke", data={"token": access_a}).status_code in (400, 401)
    assert (
        harness.http.post("/oauth/revoke", data={}, headers=basic("a", secret_a)).json()["error"] == "invalid_request"
    )
    bad_hint = harness.http.post(
        "/oauth/revoke", data={"token": access_a, "token_type_hint": "id_token"}, headers=basic("a", secret_a)
    )
    assert bad_hint.json()["error"] == "unsupported_token_type"
    assert bad_hint.status_code == 400  # RFC 7009 2.2.1 with RFC 6749 5.2: a 400, not authlib's 401
    harness.replica.load_snapshot()
    harness.verifier.verify(access_a)


def test_introspection_is_for_authenticated_and_entitled_callers(harness: IssuerHarness) -> None:
    secret_a = harness.client("owner", role="auditor")
    secret_b = harness.client("stranger", role="analyst")
    secret_edge = harness.client("edge-1", role="edge")
    access = harness.token("owner", secret_a).json()["access_token"]

    own = harness.http.post("/oauth/introspect", data={"token": access}, headers=basic("owner", secret_a)).json()
    assert own["active"] is True
    assert own["client_id"] == "owner"
    assert own["sub"] == "owner"
    assert own["scope"] == "compliance:read evidence:read"
    assert own["iss"] == harness.settings.issuer
    assert own["token_type"] == "Bearer"
    edge = harness.http.post("/oauth/introspect", data={"token": access}, headers=basic("edge-1", secret_edge)).json()
    assert edge["active"] is True
    stranger = harness.http.post("/oauth/introspect", data={"token": access}, headers=basic("stranger", secret_b))
    assert stranger.json() == {"active": False}
    anonymous = harness.http.post("/oauth/introspect", data={"token": access})
    assert anonymous.status_code in (400, 401)
    assert anonymous.json()["error"] == "invalid_client"

    harness.http.post("/oauth/revoke", data={"token": access}, headers=basic("owner", secret_a))
    after = harness.http.post("/oauth/introspect", data={"token": access}, headers=basic("edge-1", secret_edge))
    assert after.json() == {"active": False}


def test_introspection_of_refresh_tokens(harness: IssuerHarness) -> None:
    secret = harness.client("svc", role="ingest", refresh_tokens=True)
    refresh = harness.token("svc", secret).json()["refresh_token"]
    body = harness.http.post(
        "/oauth/introspect", data={"token": refresh, "token_type_hint": "refresh_token"}, headers=basic("svc", secret)
    ).json()
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["scope"] == "ingest:write"


def test_forged_and_foreign_tokens_are_inactive(harness: IssuerHarness) -> None:
    secret = harness.client("edge-2", role="edge")
    forged = mint_access_token(
        SigningKey.generate("RS256"),
        issuer=harness.settings.issuer,
        subject="x",
        audience="vigil",
        client_id="edge-2",
        scopes=["admin"],
        ttl=600,
    )
    body = harness.http.post("/oauth/introspect", data={"token": forged}, headers=basic("edge-2", secret)).json()
    assert body == {"active": False}
