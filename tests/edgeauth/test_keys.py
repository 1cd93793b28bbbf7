"""Key generation, JWK export, algorithm binding and encryption at rest."""

from __future__ import annotations

import jwt
import pytest

from edgeauth import KeyStoreError, SigningKey, VerificationKey
from edgeauth.keys import load_jwks, thumbprint
from edgeauth.rfc8725 import _decode_segment


@pytest.mark.parametrize(("alg", "kty"), [("RS256", "RSA"), ("ES256", "EC"), ("EdDSA", "OKP")])
def test_generated_key_exports_a_public_jwk_bound_to_its_alg(alg: str, kty: str) -> None:
    key = SigningKey.generate(alg)  # type: ignore[arg-type]
    jwk = key.public_jwk()
    assert jwk["kty"] == kty
    assert jwk["alg"] == alg
    assert jwk["use"] == "sig"
    assert jwk["kid"] == key.kid == thumbprint(jwk)
    assert "d" not in jwk
    assert "p" not in jwk
    verification = VerificationKey.from_jwk(jwk)
    assert verification.alg == alg


def test_signature_round_trip_and_tamper() -> None:
    key = SigningKey.generate("ES256")
    token = jwt.encode({"a": 1}, key.private_key, algorithm="ES256")
    head, payload, sig = token.split(".")
    verification = key.verification_key()
    assert verification.verify(f"{head}.{payload}".encode(), _decode_segment(sig, "sig"))
    assert not verification.verify(f"{head}.{payload}x".encode(), _decode_segment(sig, "sig"))


def test_rfc7638_thumbprint_known_answer() -> None:
    # The example key of RFC 7638 section 3.1 and its published thumbprint.
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKR"
        "XjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJ"
        "ZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqb"
        "w0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(
    ("alg", "other"),
    [("RS256", "ES256"), ("ES256", "RS256"), ("EdDSA", "RS256"), ("RS256", "HS256"), ("RS256", "none")],
)
def test_a_jwk_refuses_an_alg_that_does_not_fit_its_type(alg: str, other: str) -> None:
    jwk = SigningKey.generate(alg).public_jwk()  # type: ignore[arg-type]
    jwk["alg"] = other
    with pytest.raises(KeyStoreError):
        VerificationKey.from_jwk(jwk)


def test_symmetric_and_broken_jwks_are_left_out() -> None:
    good = SigningKey.generate().public_jwk()
    jwks = {
        "keys": [
            good,
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"},
            {"kty": "RSA", "kid": "broken", "alg": "RS256", "n": "!!", "e": "AQAB"},
            {"kty": "RSA", "alg": "RS256"},
            "not a jwk",
        ]
    }
    assert set(load_jwks(jwks)) == {good["kid"]}


def test_private_keys_travel_as_der_for_the_sealer() -> None:
    key = SigningKey.generate("EdDSA")
    again = SigningKey.from_der("EdDSA", key.kid, key.private_der())
    assert again.public_jwk() == key.public_jwk()
    with pytest.raises(KeyStoreError, match="damaged"):
        SigningKey.from_der("EdDSA", key.kid, b"not der")


def test_key_repr_never_shows_private_material() -> None:
    key = SigningKey.generate()
    assert "private" not in repr(key)
