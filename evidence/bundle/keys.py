"""The bundle signing keys: Ed25519, rotated, every key ever used kept (public half published) and recorded.

The keys live in Redis, shared by every replica: one record per kid with its public key (PEM), creation and
retirement time, whether it is active, and the private key (PKCS#8) sealed by edgeauth's `Sealer`, the one
sealing of every private key Vigil keeps.
A kid is the first 16 hex digits of the SHA-256 of the raw 32-byte public key, so anyone can recompute it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import redis
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from redis.exceptions import LockError

from edgeauth import EdgeAuthError, Sealer
from evidence.canonical import parse_rfc3339, rfc3339
from evidence.errors import SigningKeyError
from evidence.models import SigningKeyPublic


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_pem(data: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SigningKeyError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"the public key is {type(key).__name__}, not Ed25519")
    return key


def signature_valid(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


class SigningKeyStore:
    """The ledger in one Redis hash (`{namespace}:evidence:signing-keys`, kid -> record with the sealed key).

    Every replica reads the same ledger, so all sign with the same active key and publish the same public keys.
    `sealer` is needed to create or use a private key; reading the public ledger works without it.
    """

    def __init__(self, redis_client: redis.Redis, namespace: str, sealer: Sealer | None = None) -> None:
        self._redis = redis_client
        self._sealer = sealer
        self._ledger = f"{namespace}:evidence:signing-keys"
        self._lock_key = f"{self._ledger}:lock"
        self._decrypted: dict[str, Ed25519PrivateKey] = {}

    def public_keys(self) -> list[SigningKeyPublic]:
        return sorted((_public(r) for r in self._records().values()), key=lambda k: (k.created_at, k.kid))

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        record = self._records().get(kid)
        return load_public_pem(record["public_key_pem"].encode()) if record else None

    def ensure(self) -> SigningKeyPublic:
        """The active key, creating the first one when the store is empty."""
        with self._locked():
            active = [r for r in self._records().values() if r["active"]]
            if active:
                return _public(active[0])
            return self._add()

    def rotate(self) -> tuple[SigningKeyPublic, SigningKeyPublic | None]:
        """Create a new active key and retire the previous one (kept for verifying older bundles)."""
        with self._locked():
            retired = None
            for record in self._records().values():
                if record["active"]:
                    record["active"] = False
                    record["retired_at"] = rfc3339(datetime.now(UTC))
                    self._redis.hset(self._ledger, record["kid"], json.dumps(record))
                    retired = _public(record)
            return self._add(), retired

    def signer(self) -> tuple[str, Ed25519PrivateKey]:
        """The active kid and private key."""
        active = [r for r in self._records().values() if r["active"]]
        if not active:
            raise SigningKeyError("no active bundle signing key; run `vigil evidence rotate-key`")
        kid = active[0]["kid"]
        if (cached := self._decrypted.get(kid)) is not None:
            return kid, cached
        with _translated():
            der = self._need_sealer().open_text(active[0]["private"], kid)
        try:
            key = serialization.load_der_private_key(der, password=None)
        except ValueError as exc:
            raise SigningKeyError(f"private key {kid} is damaged: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"private key {kid} is not Ed25519")
        self._decrypted = {kid: key}
        return kid, key

    def reseal(self) -> int:
        """Rewrite every private key under the current key-encryption key (KEK rotation); returns how many."""
        changed = 0
        with self._locked():
            for kid, record in self._records().items():
                with _translated():
                    fresh = self._need_sealer().reseal_text(record["private"], kid)
                if fresh is not None:
                    record["private"] = fresh
                    self._redis.hset(self._ledger, kid, json.dumps(record))
                    changed += 1
        return changed

    def _add(self) -> SigningKeyPublic:
        sealer = self._need_sealer()
        private = Ed25519PrivateKey.generate()
        kid = key_id(private.public_key())
        der = private.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        with _translated():
            sealed = sealer.seal_text(der, kid)
        record = {
            "kid": kid,
            "alg": "Ed25519",
            "public_key_pem": public_pem(private.public_key()),
            "created_at": rfc3339(datetime.now(UTC)),
            "retired_at": None,
            "active": True,
            "private": sealed,
        }
        self._redis.hset(self._ledger, kid, json.dumps(record))
        return _public(record)

    def _records(self) -> dict[str, dict[str, Any]]:
        try:
            raw = cast(dict[bytes | str, bytes | str], self._redis.hgetall(self._ledger))
        except redis.RedisError as exc:
            raise SigningKeyError(f"cannot read the signing key ledger {self._ledger}: {exc}") from None
        return {_text(k): json.loads(_text(v)) for k, v in raw.items()}

    def _need_sealer(self) -> Sealer:
        if self._sealer is None or not self._sealer.ready:
            raise SigningKeyError("signing needs the key-encryption key (VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY)")
        return self._sealer

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            with self._redis.lock(self._lock_key, timeout=30, blocking_timeout=10):
                yield
        except LockError as exc:
            raise SigningKeyError(f"the signing key ledger lock {self._lock_key} is busy: {exc}") from None


def _public(record: dict[str, Any]) -> SigningKeyPublic:
    return SigningKeyPublic(
        kid=record["kid"],
        public_key_pem=record["public_key_pem"],
        created_at=parse_rfc3339(record["created_at"]),
        retired_at=parse_rfc3339(record["retired_at"]) if record.get("retired_at") else None,
        active=record["active"],
    )


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


@contextmanager
def _translated() -> Iterator[None]:
    """edgeauth's sealing errors become this package's `SigningKeyError` (one error root per package)."""
    try:
        yield
    except EdgeAuthError as exc:
        raise SigningKeyError(str(exc)) from None
