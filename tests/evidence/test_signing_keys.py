"""Bundle signing keys in the shared Redis ledger: sealed at rest, the same for every replica, KEK rotation."""

from __future__ import annotations

import json
from typing import cast

import pytest
import redis
from pydantic import SecretStr

from edgeauth import Sealer
from evidence import SigningKeyError, SigningKeyStore

pytestmark = pytest.mark.integration

KEK = Sealer(SecretStr("correct horse battery staple"))


def test_the_private_key_is_sealed_and_every_replica_signs_with_it(
    redis_conn: redis.Redis, redis_namespace: str
) -> None:
    store = SigningKeyStore(redis_conn, redis_namespace, KEK)
    record = store.ensure()
    (raw,) = cast(list[bytes], redis_conn.hvals(f"{redis_namespace}:evidence:signing-keys"))
    stored = json.loads(raw)
    assert "PRIVATE" not in raw.decode()
    assert set(stored) == {"kid", "alg", "public_key_pem", "created_at", "retired_at", "active", "private"}
    replica = SigningKeyStore(redis_conn, redis_namespace, Sealer(SecretStr("correct horse battery staple")))
    assert replica.ensure() == record
    kid, key = replica.signer()
    assert kid == record.kid
    public = store.public_key(kid)
    assert public is not None
    public.verify(key.sign(b"manifest"), b"manifest")
    with pytest.raises(SigningKeyError, match="cannot decrypt"):
        SigningKeyStore(redis_conn, redis_namespace, Sealer(SecretStr("wrong"))).signer()
    with pytest.raises(SigningKeyError, match="key-encryption key"):
        SigningKeyStore(redis_conn, redis_namespace).signer()
    assert SigningKeyStore(redis_conn, redis_namespace).public_keys()[0].kid == kid  # public half: no KEK needed


def test_rotation_keeps_retired_keys_published(redis_conn: redis.Redis, redis_namespace: str) -> None:
    store = SigningKeyStore(redis_conn, redis_namespace, KEK)
    first = store.ensure()
    new, retired = store.rotate()
    assert retired is not None
    assert retired.kid == first.kid
    assert retired.retired_at is not None
    assert [k.active for k in store.public_keys()] == [False, True]
    assert store.signer()[0] == new.kid


def test_key_encryption_key_rotation_reseals_every_key(redis_conn: redis.Redis, redis_namespace: str) -> None:
    old = SigningKeyStore(redis_conn, redis_namespace, KEK)
    kid = old.ensure().kid
    old.rotate()
    new_kek = Sealer(SecretStr("a new key-encryption key"), [SecretStr("correct horse battery staple")])
    rotated = SigningKeyStore(redis_conn, redis_namespace, new_kek)
    assert rotated.signer()[0] != kid  # opens under the previous KEK meanwhile
    assert rotated.reseal() == 2
    assert rotated.reseal() == 0
    only_new = SigningKeyStore(redis_conn, redis_namespace, Sealer(SecretStr("a new key-encryption key")))
    assert only_new.signer()[0] == rotated.signer()[0]
    with pytest.raises(SigningKeyError, match="cannot decrypt"):
        SigningKeyStore(redis_conn, redis_namespace, KEK).signer()
