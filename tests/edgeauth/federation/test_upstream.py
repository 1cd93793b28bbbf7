"""Vigil's issuer as a relying party of a real Keycloak: discovery, the code flow with PKCE and nonce, the ID token
verified, refresh, and what a disabled user gets at refresh (the upstream half of the federation)."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from edgeauth.issuer.federation import UpstreamProvider, UpstreamRefused, UpstreamUnavailable
from tests.fixtures.idp import ANALYST, CLIENT_ID, CLIENT_SECRET, KeycloakRealm, keycloak_sign_in, keycloak_upstream

pytestmark = pytest.mark.integration

REDIRECT = "http://127.0.0.1:18739/oauth/federation/corp/callback"


def upstream(keycloak: KeycloakRealm, **changes: object) -> UpstreamProvider:
    return UpstreamProvider(keycloak_upstream(keycloak.issuer, **changes), REDIRECT)


def code_for(provider: UpstreamProvider, username: str, password: str) -> tuple[str, str, str]:
    """(code, verifier, nonce) after a real sign-in at Keycloak."""
    state, nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url = provider.authorization_url(state=state, nonce=nonce, code_verifier=verifier)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"] == [nonce]
    with httpx.Client() as browser:
        back = keycloak_sign_in(browser, url, username, password)
    answer = parse_qs(urlsplit(back).query)
    assert back.startswith(REDIRECT)
    assert answer["state"] == [state]
    return answer["code"][0], verifier, nonce


def test_a_code_becomes_verified_claims_and_a_refresh_token(keycloak: KeycloakRealm) -> None:
    provider = upstream(keycloak)
    code, verifier, nonce = code_for(provider, *ANALYST)
    identity = provider.exchange(code, code_verifier=verifier, nonce=nonce)
    assert identity.claims["iss"] == keycloak.issuer
    assert identity.claims["email"] == "ana.lyst@corp.example"
    assert identity.claims["email_verified"] is True
    assert identity.claims["groups"] == ["security-analysts"]
    assert identity.refresh_token is not None
    again = provider.refresh(identity.refresh_token)
    assert again.claims["sub"] == identity.claims["sub"]


def test_the_code_is_bound_to_its_verifier_and_its_nonce(keycloak: KeycloakRealm) -> None:
    provider = upstream(keycloak)
    code, verifier, nonce = code_for(provider, *ANALYST)
    with pytest.raises(UpstreamRefused) as wrong_verifier:
        provider.exchange(code, code_verifier=secrets.token_urlsafe(48), nonce=nonce)
    assert wrong_verifier.value.code == "invalid_grant"
    code, verifier, _ = code_for(provider, *ANALYST)
    with pytest.raises(UpstreamRefused, match="nonce"):
        provider.exchange(code, code_verifier=verifier, nonce="another-nonce")


def test_an_id_token_for_another_client_or_tampered_is_refused(keycloak: KeycloakRealm) -> None:
    provider = upstream(keycloak)
    code, verifier, nonce = code_for(provider, *ANALYST)
    with httpx.Client() as client:
        token = client.post(
            f"{keycloak.issuer}/protocol/openid-connect/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": REDIRECT,
            },
            auth=(CLIENT_ID, CLIENT_SECRET),
        ).json()
    id_token = token["id_token"]
    other = upstream(keycloak, client_id="someone-else")
    with pytest.raises(UpstreamRefused, match="aud"):
        other.verify_id_token(id_token, access_token=None, nonce=nonce)
    header, payload, signature = id_token.split(".")
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    with pytest.raises(UpstreamRefused, match="signature"):
        provider.verify_id_token(f"{header}.{payload}.{flipped}", access_token=None, nonce=nonce)
    claims = provider.verify_id_token(id_token, access_token=token["access_token"], nonce=nonce)
    assert claims["azp"] == CLIENT_ID


def test_a_user_disabled_upstream_is_refused_at_refresh(keycloak: KeycloakRealm) -> None:
    username, password = keycloak.create_user(groups=["security-analysts"])
    provider = upstream(keycloak)
    code, verifier, nonce = code_for(provider, username, password)
    identity = provider.exchange(code, code_verifier=verifier, nonce=nonce)
    assert identity.refresh_token is not None
    keycloak.set_enabled(username, False)
    with pytest.raises(UpstreamRefused) as caught:
        provider.refresh(identity.refresh_token)
    assert caught.value.code == "invalid_grant"


def test_an_upstream_that_does_not_answer_is_unavailable_not_a_crash(keycloak: KeycloakRealm) -> None:
    silent = upstream(keycloak, issuer="http://127.0.0.1:9/realms/vigil", timeout=1.0)
    with pytest.raises(UpstreamUnavailable, match="does not answer"):
        silent.authorization_url(state="s", nonce="n", code_verifier="v" * 43)
    missing = upstream(keycloak, issuer=keycloak.issuer.replace("/vigil", "/no-such-realm"))
    with pytest.raises(UpstreamUnavailable, match="404"):
        missing.metadata()
