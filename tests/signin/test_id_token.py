"""ID token validation (OpenID Connect Core 3.1.3.7) by the relying party, against keys of a provider we hold.

The provider's metadata and keys are handed to the relying party directly (no discovery over the network here);
the code flow against the live issuer is in tests/signin/test_flows.py.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edgeauth import SigningKey
from vigil.signin import IdTokenRejected, ProviderMetadata, RelyingParty

ISSUER = "https://id.vigil.test"
CLIENT = "vigil-console"
NONCE = "n-0S6_WzA2Mj"
KEY = SigningKey.generate("RS256")
OTHER = SigningKey.generate("RS256")


def party() -> RelyingParty:
    rp = RelyingParty(ISSUER, CLIENT)
    rp._metadata = ProviderMetadata(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/oauth/authorize",
        token_endpoint=f"{ISSUER}/oauth/token",
        jwks_uri=f"{ISSUER}/.well-known/jwks.json",
        code_challenge_methods_supported=("S256",),
        id_token_signing_alg_values_supported=("RS256", "ES256", "HS256", "none"),
    )
    rp._keys = jwt.PyJWKSet.from_dict({"keys": [KEY.public_jwk()]})
    return rp


def id_token(key: SigningKey = KEY, headers: dict[str, Any] | None = None, **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "ana", "aud": CLIENT, "exp": now + 300, "iat": now, "nonce": NONCE, "name": "Ana"}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, **(headers or {})})


def test_a_good_id_token_names_the_person() -> None:
    claims = party().validate_id_token(id_token(), nonce=NONCE)
    assert (claims.sub, claims.display) == ("ana", "Ana")
    assert party().validate_id_token(id_token(aud=[CLIENT, "other"], azp=CLIENT), nonce=NONCE).sub == "ana"
    # On refresh there is no nonce to compare (Core 12.2): a token without one is fine then.
    assert party().validate_id_token(id_token(nonce=None), nonce=None).sub == "ana"


# Tokens are minted inside the test (not at collection): a long run must not turn every case into "expired".
BAD: list[tuple[dict[str, Any], SigningKey, dict[str, Any] | None, str]] = [
    ({"iss": "https://evil.test"}, KEY, None, "issuer"),
    ({"aud": "another-client"}, KEY, None, "audience"),
    ({"aud": [CLIENT, "other"]}, KEY, None, "authorized party"),
    ({"aud": [CLIENT, "other"], "azp": "other"}, KEY, None, "authorized party"),
    ({"nonce": "replayed"}, KEY, None, "nonce"),
    ({"nonce": None}, KEY, None, "nonce"),
    ({"exp": -3600}, KEY, None, "expired"),
    ({"sub": None}, KEY, None, "sub"),
    ({}, OTHER, {"kid": KEY.kid}, "Signature"),
    ({}, OTHER, None, "not among the provider's published keys"),
]


@pytest.mark.parametrize(("overrides", "key", "headers", "words"), BAD)
def test_a_bad_id_token_is_refused(
    overrides: dict[str, Any], key: SigningKey, headers: dict[str, Any] | None, words: str
) -> None:
    if "exp" in overrides:
        overrides = {**overrides, "exp": int(time.time()) + overrides["exp"]}
    token = id_token(key, headers, **overrides)
    rp = party()
    rp._fetch_keys = lambda: jwt.PyJWKSet.from_dict({"keys": [KEY.public_jwk()]})  # type: ignore[method-assign]
    with pytest.raises(IdTokenRejected, match=f"(?i){words}"):
        rp.validate_id_token(token, nonce=NONCE)


def test_symmetric_and_unsigned_tokens_are_refused() -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "ana", "aud": CLIENT, "exp": now + 300, "iat": now, "nonce": NONCE}
    # HS256 keyed with something an attacker may know (the client id, a secret): an RP must never accept it.
    hs = jwt.encode(claims, "a-client-secret-at-least-32-bytes-long!", algorithm="HS256")
    unsigned = jwt.encode(claims, "", algorithm="none")
    for token in (hs, unsigned):
        with pytest.raises(IdTokenRejected, match="signed with"):
            party().validate_id_token(token, nonce=NONCE)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400) | st.binary(max_size=300).map(lambda b: b.hex()))
def test_any_string_is_refused_in_one_line(garbage: str) -> None:
    with pytest.raises(IdTokenRejected) as caught:
        party().validate_id_token(garbage, nonce=NONCE)
    assert "\n" not in str(caught.value)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["iss", "aud", "sub", "exp", "iat", "nonce", "azp"]), st.integers() | st.text()))
def test_signed_tokens_with_arbitrary_claims_never_crash(overrides: dict[str, Any]) -> None:
    try:
        token = id_token(**overrides)
    except TypeError:  # pyjwt will not even encode some (a numeric iss); a provider could, so others run
        assume(False)
    try:
        claims = party().validate_id_token(token, nonce=NONCE)
    except IdTokenRejected:
        return
    assert claims.sub == overrides.get("sub", "ana")
