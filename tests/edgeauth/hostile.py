"""Helpers to craft tokens no honest issuer would sign."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from edgeauth import SigningKey

ISSUER = "https://issuer.example"
AUDIENCE = "vigil"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Any) -> str:
    return b64(json.dumps(value).encode())


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "mallory",
        "aud": AUDIENCE,
        "exp": now + 600,
        "iat": now,
        "nbf": now,
        "jti": "hostile-1",
        "client_id": "c",
        "scope": "admin",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def header(key: SigningKey, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"alg": "RS256", "typ": "at+jwt", "kid": key.kid}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def rsa_sign(key: SigningKey, head: dict[str, Any], body: dict[str, Any]) -> str:
    signing_input = f"{segment(head)}.{segment(body)}"
    private = key.private_key
    assert isinstance(private, rsa.RSAPrivateKey)
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def hmac_sign(secret: bytes, head: dict[str, Any], body: dict[str, Any]) -> str:
    signing_input = f"{segment(head)}.{segment(body)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"
