"""The bundle signing keys: Ed25519, rotated, every key ever used kept (public half published) and recorded.

Layout of the key folder: `keys.json` (the public ledger: every key with its creation and retirement time and
which one is active) and `<kid>.pem` (OpenSSH-format private keys, mode 0600, encrypted with a bcrypt KDF
when a passphrase is set).
A kid is the first 16 hex digits of the SHA-256 of the raw 32-byte public key, so anyone can recompute it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import SecretStr

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


BCRYPT_ROUNDS = 64


def _load_private_key(data: bytes, password: bytes | None) -> object:
    """Keys are written in OpenSSH format; keys written by releases before it are PKCS#8 PEM."""
    if data.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
        return serialization.load_ssh_private_key(data, password=password)
    return serialization.load_pem_private_key(data, password=password)


class SigningKeyStore:
    def __init__(self, directory: Path, passphrase: SecretStr | None = None) -> None:
        self.directory = directory
        self._passphrase = passphrase
        self._ledger = directory / "keys.json"

    def public_keys(self) -> list[SigningKeyPublic]:
        return self._read()

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        for record in self._read():
            if record.kid == kid:
                return load_public_pem(record.public_key_pem.encode())
        return None

    def ensure(self) -> SigningKeyPublic:
        """The active key, creating the first one when the store is empty."""
        with self._locked():
            records = self._read()
            active = [r for r in records if r.active]
            if active:
                return active[0]
            return self._add(records)

    def rotate(self) -> tuple[SigningKeyPublic, SigningKeyPublic | None]:
        """Create a new active key and retire the previous one (kept for verifying older bundles)."""
        with self._locked():
            records = self._read()
            now = datetime.now(UTC)
            retired = None
            kept: list[SigningKeyPublic] = []
            for record in records:
                if record.active:
                    retired = record.model_copy(update={"active": False, "retired_at": now})
                    kept.append(retired)
                else:
                    kept.append(record)
            return self._add(kept), retired

    def signer(self) -> tuple[str, Ed25519PrivateKey]:
        """The active kid and private key."""
        active = [r for r in self._read() if r.active]
        if not active:
            raise SigningKeyError(f"no active signing key in {self.directory}; run `vigil evidence rotate-key`")
        kid = active[0].kid
        path = self.directory / f"{kid}.pem"
        password = self._passphrase.get_secret_value().encode() if self._passphrase else None
        try:
            key = _load_private_key(path.read_bytes(), password)
        except FileNotFoundError:
            raise SigningKeyError(f"private key {kid} is missing from {self.directory}") from None
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"private key {kid} cannot be read (wrong passphrase?): {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"private key {kid} is not Ed25519")
        return kid, key

    def _add(self, records: list[SigningKeyPublic]) -> SigningKeyPublic:
        private = Ed25519PrivateKey.generate()
        kid = key_id(private.public_key())
        # OpenSSH's format takes a bcrypt KDF with a chosen work factor; PKCS#8's "best available" encryption is
        # PBKDF2 with 2,048 iterations, too cheap against a stolen key file.
        encryption: serialization.KeySerializationEncryption = (
            serialization.PrivateFormat.OpenSSH.encryption_builder()
            .kdf_rounds(BCRYPT_ROUNDS)
            .build(self._passphrase.get_secret_value().encode())
            if self._passphrase
            else serialization.NoEncryption()
        )
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption)
        fd = os.open(self.directory / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        record = SigningKeyPublic(
            kid=kid, public_key_pem=public_pem(private.public_key()), created_at=datetime.now(UTC), active=True
        )
        self._write([*records, record])
        return record

    def _read(self) -> list[SigningKeyPublic]:
        try:
            data = json.loads(self._ledger.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise SigningKeyError(f"key ledger {self._ledger} is unreadable: {exc}") from None
        return [
            SigningKeyPublic(
                kid=k["kid"],
                public_key_pem=k["public_key_pem"],
                created_at=parse_rfc3339(k["created_at"]),
                retired_at=parse_rfc3339(k["retired_at"]) if k.get("retired_at") else None,
                active=k["active"],
            )
            for k in data["keys"]
        ]

    def _write(self, records: list[SigningKeyPublic]) -> None:
        payload = {
            "keys": [
                {
                    "kid": r.kid,
                    "alg": r.alg,
                    "public_key_pem": r.public_key_pem,
                    "created_at": rfc3339(r.created_at),
                    "retired_at": rfc3339(r.retired_at) if r.retired_at else None,
                    "active": r.active,
                }
                for r in records
            ]
        }
        tmp = self._ledger.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self._ledger)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with (self.directory / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
