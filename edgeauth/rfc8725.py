"""RFC 8725 (JWT Best Current Practices) applied to RFC 9068 access tokens and RFC 7523 client assertions.

This is the only place edgeauth parses a JWS: the edge verifier reads access tokens with `parse`, the issuer reads
`private_key_jwt` client assertions with `parse_assertion`; pyjwt only signs and loads keys, authlib only runs
the OAuth protocol (docs/edgeauth.md, "JOSE").

Parsing is strict and bounded (size checked before any decoding, exactly three segments, base64url alphabet
only, JSON objects only). The header check binds `alg` to an allow-list (never `none`, never HMAC), requires
the `at+jwt` type, rejects any `crit` (we understand no extension) and never reads `jku`, `x5u`, `x5c` or `jwk`:
keys come only from the verifier's own key set. Claims are compared exactly: `iss` by equality, `aud` by
membership, times with a leeway of at most 60 seconds.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from edgeauth.errors import (
    AlgorithmNotAllowed,
    ExpiredToken,
    InvalidKeyId,
    IssuedInFuture,
    MalformedToken,
    MissingClaim,
    NotYetValid,
    TokenTooLarge,
    UnsupportedCritical,
    WrongAudience,
    WrongIssuer,
    WrongTokenType,
)

MAX_LEEWAY = 60
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")
# The signature may be empty so that `alg: none` tokens reach the header check and get their own reason.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_URLSAFE = bytes.maketrans(b"-_", b"+/")
_MAX_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z: anything later cannot be a datetime


def _no_constants(name: str) -> Any:
    # RFC 8259 has no NaN or Infinity; Python's decoder would accept them.
    raise ValueError(f"{name} is not JSON")


_JSON = json.JSONDecoder(parse_constant=_no_constants)
_KID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


@dataclass(frozen=True, slots=True)
class ParsedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes
    alg: str
    kid: str


def _decode_segment(segment: str, what: str) -> bytes:
    if len(segment) % 4 == 1:
        raise MalformedToken(f"{what} is not valid base64url")
    try:
        # The alphabet was checked by _COMPACT; a2b_base64 tolerates the surplus "==" of the shortcut padding.
        return binascii.a2b_base64(segment.encode("ascii").translate(_URLSAFE) + b"==")
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken(f"{what} is not valid base64url") from exc


def _decode_object(segment: str, what: str) -> dict[str, Any]:
    raw = _decode_segment(segment, what)
    try:
        value = _JSON.decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedToken(f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedToken(f"{what} is not a JSON object")
    return value


HeaderCache = dict[str, tuple[dict[str, Any], str, str]]
HEADER_CACHE_LIMIT = 256


def parse(
    token: str, *, max_bytes: int, allowed_algorithms: Collection[str], header_cache: HeaderCache | None = None
) -> ParsedToken:
    """Split, decode and check the header of a compact JWS. Signature and claims are checked later.

    Tokens signed by one key share one header segment, so a caller may keep the outcome of accepted headers in
    `header_cache` (one per allow-list); a refused header is never cached.
    """
    if len(token) > max_bytes:
        raise TokenTooLarge(f"token larger than {max_bytes} bytes")
    if not _COMPACT.fullmatch(token):
        # Also the guard against unbounded segment counts: exactly two dots or nothing is decoded.
        raise MalformedToken("token is not a compact JWS of three base64url segments")
    header_b64, payload_b64, signature_b64 = token.split(".")
    known = header_cache.get(header_b64) if header_cache is not None else None
    if known is None:
        header = _decode_object(header_b64, "header")
        alg, kid = check_header(header, allowed_algorithms)
        if header_cache is not None:
            if len(header_cache) >= HEADER_CACHE_LIMIT:
                header_cache.clear()
            header_cache[header_b64] = (header, alg, kid)
    else:
        header, alg, kid = known
    claims = _decode_object(payload_b64, "payload")
    signature = _decode_segment(signature_b64, "signature")
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    return ParsedToken(header, claims, signing_input, signature, alg, kid)


# RFC 7523 section 3 leaves `typ` optional; when present it says JWT.
ASSERTION_TYPES = frozenset({"jwt", "application/jwt"})


def parse_assertion(token: str, *, max_bytes: int, allowed_algorithms: Collection[str]) -> ParsedToken:
    """A client assertion (RFC 7523), split and decoded as strictly as an access token.

    Only the header policy differs: `typ` may be absent, `kid` too (then `kid` is empty and the caller tries the
    client's keys of that `alg`). Signature and claims are checked by the caller, against the client's own keys.
    """
    if len(token) > max_bytes:
        raise TokenTooLarge(f"assertion larger than {max_bytes} bytes")
    if not _COMPACT.fullmatch(token):
        raise MalformedToken("assertion is not a compact JWS of three base64url segments")
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = _decode_object(header_b64, "header")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in allowed_algorithms:
        raise AlgorithmNotAllowed(f"algorithm {str(alg)[:16]!r} is not allowed")
    typ = header.get("typ", "JWT")
    if not isinstance(typ, str) or typ.lower() not in ASSERTION_TYPES:
        raise WrongTokenType("assertion type must be JWT (RFC 7523)")
    if "crit" in header:
        raise UnsupportedCritical("critical header extensions are not supported")
    kid = header.get("kid", "")
    if kid != "" and (not isinstance(kid, str) or not _KID.fullmatch(kid)):
        raise InvalidKeyId("kid is not a plain key identifier")
    claims = _decode_object(payload_b64, "payload")
    return ParsedToken(
        header,
        claims,
        f"{header_b64}.{payload_b64}".encode("ascii"),
        _decode_segment(signature_b64, "signature"),
        alg,
        kid,
    )


def check_header(header: dict[str, Any], allowed_algorithms: Collection[str]) -> tuple[str, str]:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in allowed_algorithms:
        raise AlgorithmNotAllowed(f"algorithm {str(alg)[:16]!r} is not allowed")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
        raise WrongTokenType("token type must be at+jwt (RFC 9068)")
    if "crit" in header:
        raise UnsupportedCritical("critical header extensions are not supported")
    kid = header.get("kid")
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise InvalidKeyId("kid is missing or not a plain key identifier")
    return alg, kid


def _numeric(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= _MAX_NUMERIC_DATE:
        raise MalformedToken(f"claim {name} must be a NumericDate")
    return float(value)


def check_claims(
    claims: dict[str, Any], *, issuer: str, audiences: Collection[str], leeway: int, now: float
) -> tuple[str, ...]:
    """Check the RFC 9068 claims; returns the token's audiences."""
    if not 0 <= leeway <= MAX_LEEWAY:
        raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY} seconds")
    for name in REQUIRED_CLAIMS:
        if name not in claims:
            raise MissingClaim(f"claim {name} is required")
    for name in ("sub", "jti", "client_id", "iss"):
        if not isinstance(claims[name], str):
            raise MalformedToken(f"claim {name} must be a string")
    if "scope" in claims and not isinstance(claims["scope"], str):
        raise MalformedToken("claim scope must be a space-separated string")
    exp = _numeric(claims, "exp")
    iat = _numeric(claims, "iat")
    if exp <= now - leeway:
        raise ExpiredToken("token has expired")
    if "nbf" in claims and _numeric(claims, "nbf") > now + leeway:
        raise NotYetValid("token is not yet valid")
    if iat > now + leeway:
        raise IssuedInFuture("token was issued in the future")
    # Equality, never `in`: "https://issuer.example.com" must not accept "https://issuer.example.com.evil".
    if claims["iss"] != issuer:
        raise WrongIssuer("token issuer is not trusted")
    aud = claims["aud"]
    token_audiences: tuple[str, ...]
    if isinstance(aud, str):
        token_audiences = (aud,)
    elif isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        token_audiences = tuple(aud)
    else:
        raise MalformedToken("claim aud must be a string or a list of strings")
    if not any(a in audiences for a in token_audiences):
        raise WrongAudience("token audience is not accepted here")
    return token_audiences
