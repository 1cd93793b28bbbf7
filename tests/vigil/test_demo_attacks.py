"""The storyline's forged tokens are refused by the real verifier for the reason each attack stands for."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeauth import VerificationError
from tests.fixtures.edgeauth import TEST_AUDIENCE, EdgeAuthHarness
from vigil.demo.attacks import (
    alg_none_token,
    attacker_signed_token,
    forgery_calls,
    hs256_confusion_token,
    injection_calls,
    public_pem,
    stolen_claims,
    stuffing_calls,
)


def _reason(edge_auth: EdgeAuthHarness, token: str) -> str:
    with pytest.raises(VerificationError) as refused:
        edge_auth.verifier.verify(token)
    return refused.value.reason


def _claims(edge_auth: EdgeAuthHarness, subject: str = "storefront-app-000") -> dict[str, object]:
    return stolen_claims(edge_auth.settings.issuer, TEST_AUDIENCE, subject)


def test_a_real_token_with_the_same_claims_is_accepted(edge_auth: EdgeAuthHarness) -> None:
    """The control: what the forgeries imitate does verify, so their refusals are the forgeries' own doing."""
    principal = edge_auth.verifier.verify(edge_auth.token(["orders:read"], subject="storefront-app-000"))
    assert principal.subject == "storefront-app-000"


def test_attacker_key_with_a_published_kid_is_a_bad_signature(edge_auth: EdgeAuthHarness) -> None:
    assert _reason(edge_auth, attacker_signed_token(_claims(edge_auth), edge_auth.key.kid)) == "bad_signature"


def test_attacker_key_with_an_unpublished_kid_is_an_unknown_kid(edge_auth: EdgeAuthHarness) -> None:
    assert _reason(edge_auth, attacker_signed_token(_claims(edge_auth), "not-a-published-kid")) == "unknown_kid"


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=40))
def test_alg_none_and_alg_confusion_are_refused_as_disallowed_algorithms(
    edge_auth: EdgeAuthHarness, subject: str
) -> None:
    claims = _claims(edge_auth, subject)
    pem = public_pem(edge_auth.key.public_jwk())
    assert _reason(edge_auth, alg_none_token(claims)) == "alg_not_allowed"
    assert _reason(edge_auth, hs256_confusion_token(claims, edge_auth.key.kid, pem)) == "alg_not_allowed"


def test_forgeries_come_from_one_source_and_cover_each_kind(edge_auth: EdgeAuthHarness) -> None:
    jwks = {"keys": [edge_auth.key.public_jwk()]}
    calls = forgery_calls(edge_auth.settings.issuer, TEST_AUDIENCE, "storefront-app-000", jwks)
    assert len({c.source_ip for c in calls}) == 1
    reasons = {_reason(edge_auth, c.token or "") for c in calls}
    assert reasons == {"alg_not_allowed", "bad_signature", "unknown_kid"}


def test_forgery_needs_a_published_key() -> None:
    with pytest.raises(ValueError, match="publishes no key"):
        forgery_calls("http://issuer", "vigil", "c", {"keys": []})


def test_stuffing_tries_at_least_five_client_ids_from_one_source() -> None:
    calls = stuffing_calls([f"storefront-app-{i:03d}" for i in range(8)])
    assert len({c.basic[0] for c in calls if c.basic}) >= 5
    assert len({c.source_ip for c in calls}) == 1
    assert all(c.via_issuer and c.path == "/oauth/token" for c in calls)


def test_injection_payloads_carry_the_stolen_token() -> None:
    calls = injection_calls("stolen")
    assert calls
    assert all(c.token == "stolen" for c in calls)
    assert any("union select" in c.path for c in calls)
    assert any("../" in c.path for c in calls)
