"""`rfc8725.parse_assertion`, the issuer's parser of RFC 7523 client assertions: strict like the access-token
parser, with the assertion's header policy, and never anything but a `VerificationError` on hostile input."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeauth.errors import (
    AlgorithmNotAllowed,
    InvalidKeyId,
    MalformedToken,
    TokenTooLarge,
    UnsupportedCritical,
    VerificationError,
    WrongTokenType,
)
from edgeauth.rfc8725 import parse_assertion

ALGS = ("RS256", "ES256", "EdDSA")


def b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assertion(header: dict[str, Any], claims: Any = None) -> str:
    return f"{b64(header)}.{b64(claims if claims is not None else {'sub': 'svc'})}.{b64(b'sig')}"


def parse(token: str) -> Any:
    return parse_assertion(token, max_bytes=8192, allowed_algorithms=ALGS)


@pytest.mark.parametrize(
    "header", [{"alg": "ES256"}, {"alg": "ES256", "typ": "JWT"}, {"alg": "EdDSA", "kid": "k-1", "typ": "jwt"}]
)
def test_assertion_headers_rfc7523_allows(header: dict[str, Any]) -> None:
    parsed = parse(assertion(header))
    assert parsed.alg == header["alg"]
    assert parsed.kid == header.get("kid", "")
    assert parsed.claims == {"sub": "svc"}
    assert parsed.signature == b"sig"


@pytest.mark.parametrize(
    ("header", "refusal"),
    [
        ({"alg": "none"}, AlgorithmNotAllowed),
        ({"alg": "HS256", "typ": "JWT"}, AlgorithmNotAllowed),
        ({"alg": "ES256", "typ": "at+jwt"}, WrongTokenType),
        ({"alg": "ES256", "typ": 7}, WrongTokenType),
        ({"alg": "ES256", "crit": ["x"]}, UnsupportedCritical),
        ({"alg": "ES256", "kid": "../../etc"}, InvalidKeyId),
        ({"alg": "ES256", "kid": 3}, InvalidKeyId),
    ],
)
def test_assertion_headers_refused(header: dict[str, Any], refusal: type[VerificationError]) -> None:
    with pytest.raises(refusal):
        parse(assertion(header))


def test_shape_and_size_are_checked_before_decoding() -> None:
    with pytest.raises(TokenTooLarge):
        parse("a" * 9000)
    with pytest.raises(MalformedToken):
        parse(".".join(["eyJhbGciOiJFUzI1NiJ9"] * 5))
    with pytest.raises(MalformedToken):
        parse(assertion({"alg": "ES256"}, [1, 2]))


@given(st.text(max_size=300))
def test_any_text_parses_or_is_refused_as_a_verification_error(token: str) -> None:
    try:
        parsed = parse(token)
    except VerificationError:
        return
    assert parsed.alg in ALGS


@given(st.dictionaries(st.sampled_from(["alg", "typ", "kid", "crit", "jwk"]), st.none() | st.text(max_size=20)))
def test_any_header_parses_or_is_refused_as_a_verification_error(header: dict[str, Any]) -> None:
    try:
        parsed = parse(assertion(header))
    except VerificationError:
        return
    assert parsed.alg in ALGS
