"""The one sealing of every private key Vigil keeps: format, binding to a name, KEK rotation, shared secrets."""

from __future__ import annotations

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from edgeauth import KeyStoreError, Sealer, SharedSecret

OLD, NEW = SecretStr("the old key-encryption key"), SecretStr("the new key-encryption key")


def test_a_sealed_secret_opens_only_under_its_name_and_key() -> None:
    sealer = Sealer(OLD)
    blob = sealer.seal(b"private key bytes", "kid-1")
    assert blob.startswith(b"v1")
    assert b"private key bytes" not in blob
    assert sealer.open(blob, "kid-1") == b"private key bytes"
    with pytest.raises(KeyStoreError, match="cannot decrypt"):
        sealer.open(blob, "kid-2")
    with pytest.raises(KeyStoreError, match="cannot decrypt"):
        Sealer(NEW).open(blob, "kid-1")
    with pytest.raises(KeyStoreError, match="cannot decrypt"):
        sealer.open(blob[:-1] + bytes([blob[-1] ^ 1]), "kid-1")
    with pytest.raises(KeyStoreError, match="unknown storage format"):
        sealer.open(b"v2" + blob[2:], "kid-1")
    with pytest.raises(KeyStoreError, match="KEY_ENCRYPTION_KEY"):
        Sealer(None).seal(b"x", "kid-1")


def test_rotation_opens_under_a_previous_key_and_reseals_under_the_current() -> None:
    blob = Sealer(OLD).seal(b"secret", "n")
    rotated = Sealer(NEW, [OLD])
    assert rotated.open(blob, "n") == b"secret"
    fresh = rotated.reseal(blob, "n")
    assert fresh is not None
    assert rotated.reseal(fresh, "n") is None
    assert Sealer(NEW).open(fresh, "n") == b"secret"


@settings(max_examples=25, deadline=None)  # each seal costs one scrypt derivation
@given(secret=st.binary(max_size=256), name=st.text(max_size=40), junk=st.binary(max_size=80))
def test_seal_round_trips_and_junk_is_a_clear_error(secret: bytes, name: str, junk: bytes) -> None:
    sealer = Sealer(OLD)
    assert sealer.open_text(sealer.seal_text(secret, name), name) == secret
    with pytest.raises(KeyStoreError):
        sealer.open(junk, name)


@pytest.mark.integration
def test_a_shared_secret_is_the_same_for_every_replica(redis_conn: redis.Redis, redis_namespace: str) -> None:
    key = f"{redis_namespace}:csrf"
    first, second = SharedSecret(redis_conn, key, Sealer(OLD)), SharedSecret(redis_conn, key, Sealer(OLD))
    assert len(first.value()) == 32
    assert first.value() == second.value()
    stored = redis_conn.get(key)
    assert isinstance(stored, bytes)
    assert len(stored) > 32  # stored sealed, never the bare secret
    rotated = SharedSecret(redis_conn, key, Sealer(NEW, [OLD]))
    assert rotated.value() == first.value()
    assert rotated.reseal() is True
    assert rotated.reseal() is False
    assert SharedSecret(redis_conn, key, Sealer(NEW)).value() == first.value()
