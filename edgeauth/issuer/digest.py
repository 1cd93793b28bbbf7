"""The name a secret value is kept under in Redis: its SHA-256, so reading Redis never yields a usable secret.

Refresh tokens, authorization codes, sign-in session cookies, pending sign-ins and federation states are all
stored this way; one function keeps their keys computed the same way.
"""

from __future__ import annotations

import hashlib


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
