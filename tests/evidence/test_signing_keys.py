"""Bundle signing keys at rest: encrypted with a bcrypt KDF when a passphrase is set."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from evidence import SigningKeyError, SigningKeyStore


def test_a_passphrase_encrypts_the_private_key_and_is_needed_to_sign(tmp_path: Path) -> None:
    store = SigningKeyStore(tmp_path, SecretStr("correct horse battery staple"))
    record = store.ensure()
    pem = (tmp_path / f"{record.kid}.pem").read_bytes()
    assert pem.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert (tmp_path / f"{record.kid}.pem").stat().st_mode & 0o077 == 0
    kid, key = store.signer()
    assert kid == record.kid
    assert store.public_key(kid) is not None
    signature = key.sign(b"manifest")
    store.public_key(kid).verify(signature, b"manifest")  # type: ignore[union-attr]
    with pytest.raises(SigningKeyError, match="wrong passphrase"):
        SigningKeyStore(tmp_path, SecretStr("wrong")).signer()


def test_without_a_passphrase_the_key_is_stored_plain_but_private(tmp_path: Path) -> None:
    store = SigningKeyStore(tmp_path)
    record = store.ensure()
    path = tmp_path / f"{record.kid}.pem"
    assert b"ENCRYPTED" not in path.read_bytes()
    assert path.stat().st_mode & 0o077 == 0
    assert store.signer()[0] == record.kid
