"""Hostile tokens: each is refused with its own reason code, by the library and by `GET /verify` (never a 5xx).

Also the regressions of published pyjwt and authlib CVEs: key confusion (CVE-2022-29217), `crit` handling,
partial `iss` matching (CVE-2024-53861) and unbounded segment counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeauth import (
    EdgeAuthSettings,
    JwksCache,
    RequestContext,
    ScopeRule,
    SigningKey,
    VerificationError,
    Verifier,
    create_verify_router,
    rfc8725,
)
from tests.edgeauth.hostile import ISSUER, b64, claims, header, hmac_sign, rsa_sign, segment

KEY = SigningKey.generate("RS256")
ATTACKER = SigningKey.generate("RS256")
PUBLIC_PEM = KEY.private_key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


class Revoked:
    def is_revoked(self, jti: str) -> bool:
        return jti == "revoked-jti"

    def staleness(self) -> float:
        return 0.0


def make_verifier() -> Verifier:
    edge = EdgeAuthSettings(
        issuer=ISSUER,
        leeway=30,
        max_token_bytes=4096,
        scope_rules=[ScopeRule(path_prefix="/admin", scopes=("admin",)), ScopeRule(path_prefix="/", scopes=())],
    )
    return Verifier(edge, JwksCache(edge, initial={"keys": [KEY.public_jwk()]}), revocations=Revoked())


def valid(**overrides: object) -> str:
    return rsa_sign(KEY, header(KEY), claims(**overrides))


NOW = int(time.time())
CORPUS: dict[str, tuple[Callable[[], str], str]] = {
    "alg none": (lambda: f"{segment(header(KEY, alg='none'))}.{segment(claims())}.", "alg_not_allowed"),
    "alg none, uppercase": (lambda: f"{segment(header(KEY, alg='NONE'))}.{segment(claims())}.", "alg_not_allowed"),
    "HS256 signed with the RSA public key (CVE-2022-29217)": (
        lambda: hmac_sign(PUBLIC_PEM, header(KEY, alg="HS256"), claims()),
        "alg_not_allowed",
    ),
    "RS256 header over an HMAC signature": (
        lambda: hmac_sign(PUBLIC_PEM, header(KEY), claims()),
        "bad_signature",
    ),
    "ES256 claimed for an RSA key": (lambda: rsa_sign(KEY, header(KEY, alg="ES256"), claims()), "alg_not_allowed"),
    "unknown kid": (lambda: rsa_sign(ATTACKER, header(ATTACKER), claims()), "unknown_kid"),
    "path-injected kid": (lambda: rsa_sign(KEY, header(KEY, kid="../../../../dev/null"), claims()), "invalid_kid"),
    "sql-injected kid": (lambda: rsa_sign(KEY, header(KEY, kid="x' UNION SELECT 'k"), claims()), "invalid_kid"),
    "missing kid": (lambda: rsa_sign(KEY, header(KEY, kid=None), claims()), "invalid_kid"),
    "jku to an attacker JWKS": (
        lambda: rsa_sign(ATTACKER, header(KEY, jku="https://attacker.example/jwks.json"), claims()),
        "bad_signature",
    ),
    "x5u to an attacker certificate": (
        lambda: rsa_sign(ATTACKER, header(KEY, x5u="https://attacker.example/cert.pem"), claims()),
        "bad_signature",
    ),
    "embedded attacker jwk": (
        lambda: rsa_sign(ATTACKER, header(KEY, jwk=ATTACKER.public_jwk()), claims()),
        "bad_signature",
    ),
    "embedded jwk with its own kid": (
        lambda: rsa_sign(ATTACKER, header(ATTACKER, jwk=ATTACKER.public_jwk()), claims()),
        "unknown_kid",
    ),
    "unknown crit": (lambda: rsa_sign(KEY, header(KEY, crit=["exp"]), claims()), "unsupported_crit"),
    "crit b64 (RFC 7797)": (lambda: rsa_sign(KEY, header(KEY, crit=["b64"], b64=False), claims()), "unsupported_crit"),
    "plain JWT type": (lambda: rsa_sign(KEY, header(KEY, typ="JWT"), claims()), "wrong_type"),
    "no type": (lambda: rsa_sign(KEY, header(KEY, typ=None), claims()), "wrong_type"),
    "expired": (lambda: valid(exp=NOW - 120, iat=NOW - 720, nbf=NOW - 720), "expired"),
    "not yet valid": (lambda: valid(nbf=NOW + 3600), "not_yet_valid"),
    "issued in the future": (lambda: valid(iat=NOW + 3600, nbf=NOW), "issued_in_future"),
    "wrong issuer": (lambda: valid(iss="https://evil.example"), "wrong_issuer"),
    "issuer with a suffix": (lambda: valid(iss=ISSUER + ".evil"), "wrong_issuer"),
    "issuer substring (CVE-2024-53861)": (lambda: valid(iss="issuer"), "wrong_issuer"),
    "issuer one char": (lambda: valid(iss="h"), "wrong_issuer"),
    "issuer with a trailing slash": (lambda: valid(iss=ISSUER + "/"), "wrong_issuer"),
    "issuer as a list": (lambda: valid(iss=[ISSUER]), "malformed"),
    "wrong audience": (lambda: valid(aud="other-api"), "wrong_audience"),
    "audience substring": (lambda: valid(aud="vigi"), "wrong_audience"),
    "empty audience list": (lambda: valid(aud=[]), "malformed"),
    "missing exp": (lambda: valid(exp=None), "missing_claim"),
    "missing aud": (lambda: valid(aud=None), "missing_claim"),
    "boolean exp": (lambda: valid(exp=True), "malformed"),
    "exp beyond year 9999": (lambda: valid(exp=10**20), "malformed"),
    "negative iat": (lambda: valid(iat=-5), "malformed"),
    "NaN exp (not JSON)": (lambda: valid(exp=float("nan")), "malformed"),
    "Infinity exp (not JSON)": (lambda: valid(exp=float("inf")), "malformed"),
    "oversized": (lambda: valid(padding="A" * 5000), "too_large"),
    "bad base64 in the header": (lambda: "eyJhbGciOi*.eyJ9.c2ln", "malformed"),
    "impossible base64 length": (lambda: "a.eyJ9.c2ln", "malformed"),
    "header not JSON": (lambda: f"{b64(b'not json')}.{segment(claims())}.c2ln", "malformed"),
    "header a JSON array": (lambda: f"{b64(b'[1]')}.{segment(claims())}.c2ln", "malformed"),
    "payload not JSON": (
        lambda: f"{segment(header(KEY))}.{b64(b'{not json')}.c2ln",
        "malformed",
    ),
    "payload not UTF-8": (lambda: f"{segment(header(KEY))}.{b64(bytes([0xFF, 0xFE]))}.c2ln", "malformed"),
    "unbounded segments": (lambda: ".".join(["eyJ9"] * 500), "malformed"),
    "four segments": (lambda: valid() + ".eyJ9", "malformed"),
    "two segments": (lambda: valid().rsplit(".", 1)[0], "malformed"),
    "JWE-shaped": (lambda: "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "malformed"),
    "truncated signature": (lambda: valid()[:-10], "bad_signature"),
    "empty signature": (lambda: valid().rsplit(".", 1)[0] + ".", "bad_signature"),
    "revoked jti": (lambda: valid(jti="revoked-jti"), "revoked"),
}


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return make_verifier()


@pytest.fixture(scope="module")
def client(verifier: Verifier) -> TestClient:
    app = FastAPI()
    app.include_router(create_verify_router(verifier))
    return TestClient(app)


def test_the_corpus_has_its_own_reason_for_each_attack_class() -> None:
    reasons = {reason for _, reason in CORPUS.values()}
    assert reasons >= {
        "alg_not_allowed",
        "unknown_kid",
        "invalid_kid",
        "bad_signature",
        "unsupported_crit",
        "wrong_type",
        "expired",
        "not_yet_valid",
        "issued_in_future",
        "wrong_issuer",
        "wrong_audience",
        "too_large",
        "malformed",
        "revoked",
        "missing_claim",
    }


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_library_refuses_with_its_reason(verifier: Verifier, name: str) -> None:
    build, expected = CORPUS[name]
    with pytest.raises(VerificationError) as info:
        verifier.verify(build())
    assert info.value.reason == expected, name


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_verify_endpoint_refuses_with_401_and_a_challenge(client: TestClient, name: str) -> None:
    build, expected = CORPUS[name]
    response = client.get("/verify", headers={"Authorization": f"Bearer {build()}", "X-Original-URI": "/api"})
    assert response.status_code == 401
    assert response.json()["reason"] == expected
    assert response.headers["www-authenticate"].startswith('Bearer realm="vigil", error="invalid_token"')
    assert "x-auth-subject" not in response.headers


def test_the_honest_token_of_the_corpus_passes(verifier: Verifier) -> None:
    assert verifier.verify(valid(jti="honest")).subject == "mallory"


def test_jku_is_never_fetched_and_the_key_set_is_unchanged(verifier: Verifier) -> None:
    before = verifier.keys.kids
    with pytest.raises(VerificationError):
        verifier.verify(rsa_sign(ATTACKER, header(ATTACKER, jku="http://127.0.0.1:9/jwks"), claims(jti="j")))
    assert verifier.keys.kids == before == {KEY.kid}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    authorization=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300),
    uri=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=80),
    method=st.sampled_from(["GET", "POST", "DELETE", "get", "BREW", ""]),
)
def test_fuzzed_verify_requests_never_5xx(client: TestClient, authorization: str, uri: str, method: str) -> None:
    response = client.get(
        "/verify", headers={"Authorization": authorization, "X-Original-URI": uri, "X-Original-Method": method}
    )
    assert response.status_code in {400, 401, 403}
    # 400 only for an original request no rule could match (issue 13: anything odd is refused, never let through).
    assert response.status_code != 400 or response.json()["reason"] == "odd_request"


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.sampled_from(list("AZaz09-_.=+/ ")))
def test_mutated_valid_tokens_never_5xx_and_never_change_identity(position: int, replacement: str) -> None:
    token = valid(jti="mutant")
    index = position % len(token)
    mutated = token[:index] + replacement + token[index + 1 :]
    verifier = make_verifier()
    try:
        principal = verifier.verify(mutated, context=RequestContext(path="/api"))
    except VerificationError:
        return
    # Only base64 padding-bit slack can survive a mutation: the identity must be the signed one.
    assert principal.subject == "mallory"
    assert principal.token_id == "mutant"


@settings(max_examples=200, deadline=None)
@given(head=st.dictionaries(st.text(max_size=8), st.none() | st.booleans() | st.integers() | st.text(max_size=20)))
def test_arbitrary_headers_are_refused_with_a_reason(head: dict[str, object]) -> None:
    token = rsa_sign(KEY, head, claims())
    with pytest.raises(VerificationError) as info:
        make_verifier().verify(token)
    assert info.value.reason in {"alg_not_allowed", "wrong_type", "unsupported_crit", "invalid_kid"}


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=600) | st.from_regex(r"[A-Za-z0-9_-]{0,80}\.[A-Za-z0-9_-]{0,200}\.[A-Za-z0-9_-]{0,80}"))
def test_parse_only_ever_raises_verification_errors(token: str) -> None:
    reason = None
    try:
        rfc8725.parse(token, max_bytes=4096, allowed_algorithms={"RS256"})
    except VerificationError as exc:
        reason = exc.reason
    assert reason in PARSE_REASONS


PARSE_REASONS = {None, "malformed", "too_large", "alg_not_allowed", "wrong_type", "unsupported_crit", "invalid_kid"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=500, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            name: json_values | st.just(ISSUER) | st.just("vigil") | st.integers(NOW - 100, NOW + 100)
            for name in ("iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope")
        },
    )
)
def test_claim_checks_only_ever_raise_verification_errors(body: dict[str, object]) -> None:
    try:
        rfc8725.check_claims(body, issuer=ISSUER, audiences={"vigil"}, leeway=30, now=float(NOW))
    except VerificationError:
        return


ADVISORIES = {
    # pyjwt: an HMAC alg verified with the RSA public key (PEM or JWK) as its secret.
    "CVE-2022-29217": ["HS256 signed with the RSA public key (CVE-2022-29217)", "RS256 header over an HMAC signature"],
    # authlib < 1.3.1: HMAC verification allowed with any asymmetric public key.
    "CVE-2024-37568": ["HS256 signed with the RSA public key (CVE-2022-29217)", "ES256 claimed for an RSA key"],
    # pyjwt 2.10.0: `iss` checked with `in`, so a substring of the issuer passed.
    "CVE-2024-53861": ["issuer substring (CVE-2024-53861)", "issuer one char", "issuer with a suffix"],
    # pyjwt < 2.12.0 and authlib < 1.6.4: unknown `crit` extensions accepted.
    "CVE-2026-32597 / CVE-2025-59420": ["unknown crit", "crit b64 (RFC 7797)"],
    # authlib: the key embedded in the `jwk` header used for verification when the caller passed none.
    "CVE-2026-27962": ["embedded attacker jwk", "embedded jwk with its own kid"],
    # authlib 1.6.5-1.6.6: `alg: none` with an empty signature passed.
    "CVE-2026-28802": ["alg none", "alg none, uppercase"],
    # Unbounded segment counts (quadratic splitting of many dots) and JWE-shaped input.
    "unbounded segments": ["unbounded segments", "JWE-shaped", "four segments"],
}


@pytest.mark.parametrize("advisory", sorted(ADVISORIES))
def test_published_advisories_stay_fixed(verifier: Verifier, advisory: str) -> None:
    for name in ADVISORIES[advisory]:
        build, expected = CORPUS[name]
        with pytest.raises(VerificationError) as info:
            verifier.verify(build())
        assert info.value.reason == expected, f"{advisory}: {name}"


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            name: json_values | st.just(ISSUER) | st.just("vigil") | st.integers(NOW - 100, NOW + 100)
            for name in ("iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope")
        },
    )
)
def test_signed_arbitrary_claims_never_escape_as_other_errors(body: dict[str, object]) -> None:
    """Even a token our own key signed cannot crash the verifier with odd claim values."""
    token = rsa_sign(KEY, header(KEY), body)
    try:
        principal = make_verifier().verify(token)
    except VerificationError:
        return
    assert principal.token_id == body["jti"]
