"""Sealing: the one way Vigil encrypts a secret it keeps (signing keys of edgeauth and evidence, the CSRF key).

A sealed blob is `v1` | salt (16) | nonce (12) | AES-256-GCM ciphertext and tag, the key derived from the
key-encryption key (KEK, a passphrase) by scrypt. The caller names what the secret is for (a kid, a purpose) and
that name is bound as associated data, so a sealed secret cannot be moved under another name.

KEK rotation: a `Sealer` seals under its current KEK and opens under the current one or any previous one, tried
in order (the blob carries no KEK identifier: a fast fingerprint of a passphrase would let a thief test guesses
without paying for scrypt). `reseal` rewrites a blob under the current KEK; each store holding sealed secrets has
a `reseal()` that walks all of them, so the old KEK can be dropped once it has run.

`SharedSecret` is a random secret created once in Redis and sealed there, so every replica of a process gets the
same one (the console's CSRF key).
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Sequence
from typing import cast

import redis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pydantic import SecretStr

from edgeauth.errors import KeyStoreError
from edgeauth.revocation import redis_text

VERSION = b"v1"
_SALT = 16
_NONCE = 12
_TAG = 16
MISSING_KEK = "storing private keys needs VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY"


def _derive(passphrase: str, salt: bytes) -> bytes:
    # scrypt (n=2**15, r=8: about 32 MiB and tens of ms) makes guessing a weak passphrase expensive.
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode("utf-8"))


class Sealer:
    """Seals under the current KEK, opens under the current or a previous one."""

    def __init__(self, current: SecretStr | None, previous: Sequence[SecretStr] = ()) -> None:
        self._current = current.get_secret_value() if current is not None else ""
        self._previous = tuple(p.get_secret_value() for p in previous if p.get_secret_value())

    @property
    def ready(self) -> bool:
        return bool(self._current)

    def seal(self, secret: bytes, name: str) -> bytes:
        if not self._current:
            raise KeyStoreError(MISSING_KEK)
        salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
        return VERSION + salt + nonce + AESGCM(_derive(self._current, salt)).encrypt(nonce, secret, name.encode())

    def open(self, blob: bytes, name: str) -> bytes:
        return self._open(blob, name)[0]

    def reseal(self, blob: bytes, name: str) -> bytes | None:
        """The blob sealed under the current KEK, or None when it already is."""
        secret, kek = self._open(blob, name)
        return None if kek == self._current else self.seal(secret, name)

    def seal_text(self, secret: bytes, name: str) -> str:
        """A sealed blob as ASCII, for JSON records and Redis hashes."""
        return base64.b64encode(self.seal(secret, name)).decode("ascii")

    def open_text(self, text: str, name: str) -> bytes:
        return self.open(base64.b64decode(text), name)

    def reseal_text(self, text: str, name: str) -> str | None:
        blob = self.reseal(base64.b64decode(text), name)
        return None if blob is None else base64.b64encode(blob).decode("ascii")

    def _open(self, blob: bytes, name: str) -> tuple[bytes, str]:
        if not blob.startswith(VERSION) or len(blob) < len(VERSION) + _SALT + _NONCE + _TAG:
            raise KeyStoreError(f"sealed secret {name}: unknown storage format")
        if not self._current:
            raise KeyStoreError(MISSING_KEK)
        salt = blob[2 : 2 + _SALT]
        nonce = blob[2 + _SALT : 2 + _SALT + _NONCE]
        for kek in (self._current, *self._previous):
            try:
                return AESGCM(_derive(kek, salt)).decrypt(nonce, blob[2 + _SALT + _NONCE :], name.encode()), kek
            except InvalidTag:
                continue
        raise KeyStoreError(f"cannot decrypt sealed secret {name}: wrong key-encryption key or damaged data")


class SharedSecret:
    """A random secret of `size` bytes, created once in Redis under `key` (sealed), the same for every replica."""

    def __init__(self, redis_client: redis.Redis, key: str, sealer: Sealer, *, size: int = 32) -> None:
        self._redis = redis_client
        self._key = key
        self._sealer = sealer
        self._size = size
        self._value: bytes | None = None

    def value(self) -> bytes:
        if self._value is None:
            # SET NX: of two replicas starting together, one creates the secret and both read the winner's.
            self._redis.set(self._key, self._sealer.seal_text(secrets.token_bytes(self._size), self._key), nx=True)
            stored = cast(bytes | str | None, self._redis.get(self._key))
            if stored is None:
                raise KeyStoreError(f"shared secret {self._key} vanished from Redis")
            text = redis_text(stored)
            self._value = self._sealer.open_text(text, self._key)
        return self._value

    def reseal(self) -> bool:
        """Rewrite the stored secret under the current KEK; True when it changed."""
        with self._redis.pipeline(transaction=True) as pipe:
            # Only replace what we read: a concurrent reseal or re-creation wins over us.
            pipe.watch(self._key)  # type: ignore[no-untyped-call]
            stored = cast(bytes | str | None, pipe.get(self._key))
            if stored is None:
                return False
            text = redis_text(stored)
            fresh = self._sealer.reseal_text(text, self._key)
            if fresh is None:
                return False
            pipe.multi()
            pipe.set(self._key, fresh)
            try:
                pipe.execute()
            except redis.WatchError:
                return False
        return True
