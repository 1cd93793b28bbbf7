"""Client registry against the real Redis: hashing, validation, every change audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import redis
from pydantic import SecretStr

from edgeauth.issuer import (
    ClientExists,
    ClientNotFound,
    ClientRegistry,
    InvalidClientDefinition,
    RedisClientStore,
)
from edgeauth.issuer.clientsecrets import ClientSecretHasher, SecretHashKeys
from edgeauth.keys import SigningKey
from edgeauth.sealing import Sealer
from edgeauth.settings import DEFAULT_SCOPES

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(redis_conn: redis.Redis, redis_namespace: str) -> ClientRegistry:
    keys = SecretHashKeys(redis_conn, redis_namespace, Sealer(SecretStr("registry-test-kek")))
    return ClientRegistry(
        RedisClientStore(redis_conn, redis_namespace), scopes_supported=DEFAULT_SCOPES, hasher=ClientSecretHasher(keys)
    )


def test_create_returns_secret_once_and_stores_only_a_hash(
    registry: ClientRegistry, redis_conn: redis.Redis, redis_namespace: str
) -> None:
    issued = registry.create("ingest-1", actor="alice", role="ingest", audiences=["vigil"])
    assert issued.client_secret is not None
    secret = issued.client_secret.get_secret_value()
    assert secret not in repr(issued)
    stored = cast(bytes | None, redis_conn.get(f"{redis_namespace}:client:ingest-1"))
    assert stored is not None
    assert secret.encode() not in stored
    record = registry.get("ingest-1")
    assert record.secret_hash is not None
    assert record.secret_hash.get_secret_value().startswith("hmac-sha256$")
    assert registry.hasher.check(secret, record.secret_hash.get_secret_value()).valid
    assert not registry.hasher.check(secret + "x", record.secret_hash.get_secret_value()).valid
    assert record.scopes == frozenset({"ingest:write"})
    assert registry.show("ingest-1").scopes == ("ingest:write",)


def test_every_change_is_audited_with_actor(registry: ClientRegistry) -> None:
    registry.create("analyst-1", actor="alice", role="analyst", audiences=["vigil"])
    old_hash = registry.get("analyst-1").secret_hash
    rotated = registry.rotate("analyst-1", actor="bob")
    assert rotated.client_secret is not None
    assert registry.get("analyst-1").secret_hash != old_hash
    assert registry.get("analyst-1").rotated_at is not None
    registry.set_disabled("analyst-1", True, actor="carol")
    assert registry.get("analyst-1").disabled
    registry.review("analyst-1", actor="dave", note="still needed")
    assert registry.get("analyst-1").reviewed_by == "dave"
    events = registry.history("analyst-1")
    assert [(e.action, e.actor) for e in events] == [
        ("create", "alice"),
        ("rotate", "bob"),
        ("disable", "carol"),
        ("review", "dave"),
    ]
    assert all(e.timestamp.tzinfo is not None for e in events)


def test_duplicate_and_missing_clients_are_refused(registry: ClientRegistry) -> None:
    registry.create("dup", actor="a", role="admin", audiences=["vigil"])
    with pytest.raises(ClientExists):
        registry.create("dup", actor="a", role="admin", audiences=["vigil"])
    with pytest.raises(ClientNotFound):
        registry.rotate("ghost", actor="a")
    assert [c.client_id for c in registry.list_clients()] == ["dup"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"client_id": "bad id"}, "client_id"),
        ({"scopes": ["not-a-scope"]}, "unknown scope"),
        ({"audiences": []}, "audiences"),
        ({"audiences": ["has space"]}, "audiences"),
        ({"engagement": (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))}, "end after"),
        ({"engagement": (datetime(2026, 1, 1), datetime(2026, 2, 1))}, "timezone"),
    ],
)
def test_bad_definitions_are_one_line_errors(registry: ClientRegistry, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"client_id": "c1", "actor": "a", "role": "auditor", "audiences": ["vigil"], **kwargs}
    client_id = args.pop("client_id")
    with pytest.raises(InvalidClientDefinition, match=message) as caught:
        registry.create(client_id, **args)
    assert "\n" not in str(caught.value)


def test_private_key_jwt_client_takes_only_public_keys(registry: ClientRegistry) -> None:
    key = SigningKey.generate("ES256")
    public = {"keys": [key.public_jwk()]}
    issued = registry.create("svc", actor="a", role="ingest", audiences=["vigil"], jwks=public)
    assert issued.client_secret is None
    assert registry.show("svc").key_ids == (key.kid,)
    private = {"keys": [{**key.public_jwk(), "d": "AAAA"}]}
    with pytest.raises(InvalidClientDefinition, match="private"):
        registry.create("svc2", actor="a", role="ingest", audiences=["vigil"], jwks=private)
    hmac_key = {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h", "alg": "HS256"}]}
    with pytest.raises(InvalidClientDefinition):
        registry.create("svc3", actor="a", role="ingest", audiences=["vigil"], jwks=hmac_key)
    with pytest.raises(InvalidClientDefinition, match="JWKS"):
        registry.rotate("svc", actor="a")
    other = SigningKey.generate("RS256")
    registry.rotate("svc", actor="a", jwks={"keys": [other.public_jwk()]})
    assert registry.show("svc").key_ids == (other.kid,)


def test_engagement_is_kept_with_timezone(registry: ClientRegistry) -> None:
    start = datetime.now(UTC)
    registry.create(
        "auditor-1",
        actor="a",
        role="auditor",
        audiences=["vigil"],
        engagement=(start, start + timedelta(days=30)),
    )
    engagement = registry.get("auditor-1").engagement
    assert engagement is not None
    assert engagement.covers(start + timedelta(days=1))
    assert not engagement.covers(start + timedelta(days=31))
    assert registry.show("auditor-1").engagement == {
        "from": start.isoformat(),
        "to": (start + timedelta(days=30)).isoformat(),
    }
