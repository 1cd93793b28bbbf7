"""Client secrets as keyed hashes against the real Redis: checking, migration from scrypt, server-key rotation,
replicas sharing the key, and the token endpoint on top."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from datetime import UTC, datetime

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from edgeauth import CollectingAuditSink, DecisionBuffer, KeyStore, RevocationPublisher
from edgeauth.issuer import ClientRecord, ClientSecretHasher, Issuer, SecretHashKeys
from edgeauth.issuer.clientsecrets import check_scrypt
from edgeauth.issuer.models import ClientAuditEvent
from edgeauth.sealing import Sealer
from tests.edgeauth.issuer.conftest import IssuerHarness, build, make_settings

pytestmark = pytest.mark.integration

KEK = Sealer(SecretStr("clientsecrets-test-kek"))


def legacy_scrypt(secret: str, n: int = 2**10) -> str:
    """A hash as Vigil stored secrets before keyed hashes (`scrypt$n$r$p$salt$digest`)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=8, p=1, dklen=32)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return f"scrypt${n}$8$1${b64(salt)}${b64(digest)}"


@pytest.fixture
def hasher(redis_conn: redis.Redis, redis_namespace: str) -> ClientSecretHasher:
    return ClientSecretHasher(SecretHashKeys(redis_conn, redis_namespace, KEK))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=st.text(max_size=600), other=st.text(max_size=80))
def test_only_the_hashed_secret_checks(hasher: ClientSecretHasher, secret: str, other: str) -> None:
    stored = hasher.hash(secret)
    assert stored.startswith("hmac-sha256$")
    verdict = hasher.check(secret, stored)
    # Over-long presented secrets are refused before any work (a real secret is 43 characters).
    assert verdict.valid is (len(secret) <= 512)
    assert verdict.current is verdict.valid
    assert hasher.check(other, stored).valid is (other == secret)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=st.one_of(st.text(max_size=120), st.from_regex(r"(hmac-sha256|scrypt)(\$[A-Za-z0-9_=-]{0,12}){0,6}")))
def test_a_malformed_stored_hash_is_never_valid_and_never_raises(hasher: ClientSecretHasher, stored: str) -> None:
    assert hasher.check("right", stored).valid is False
    assert check_scrypt("right", stored) is False


def test_legacy_scrypt_checks_but_is_not_current(hasher: ClientSecretHasher) -> None:
    stored = legacy_scrypt("s3cret")
    assert hasher.check("s3cret", stored).valid
    assert not hasher.check("s3cret", stored).current
    assert not hasher.check("s3cre", stored).valid


def test_a_hash_under_an_unknown_server_key_is_not_valid(hasher: ClientSecretHasher) -> None:
    stored = hasher.hash("s3cret")
    _, kid, digest = stored.split("$")
    assert not hasher.check("s3cret", f"hmac-sha256$0000000000000000${digest}").valid
    assert hasher.check("s3cret", f"hmac-sha256${kid}${digest}").valid


def test_server_key_is_sealed_and_needs_the_kek(
    redis_conn: redis.Redis, redis_namespace: str, hasher: ClientSecretHasher
) -> None:
    stored = hasher.hash("s3cret")
    kid = stored.split("$")[1]
    raw = redis_conn.hget(f"{redis_namespace}:secret-keys", kid)
    assert isinstance(raw, bytes)
    opened = hasher.keys.key(kid)
    assert opened is not None
    assert opened not in base64.b64decode(raw)
    stranger = ClientSecretHasher(SecretHashKeys(redis_conn, redis_namespace, Sealer(SecretStr("another-kek"))))
    with pytest.raises(Exception, match="cannot decrypt"):
        stranger.check("s3cret", stored)


def test_replicas_starting_together_share_one_server_key(redis_conn: redis.Redis, redis_namespace: str) -> None:
    replicas = [SecretHashKeys(redis_conn, redis_namespace, KEK) for _ in range(4)]
    kids: list[str] = []
    start = threading.Barrier(len(replicas))

    def first_use(keys: SecretHashKeys) -> None:
        start.wait()
        kids.append(keys.current()[0])

    threads = [threading.Thread(target=first_use, args=(keys,)) for keys in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(kids) == 4
    assert len(set(kids)) == 1
    assert replicas[0].kids() == kids[:1]


def test_rotation_reaches_other_replicas_after_the_current_ttl(redis_conn: redis.Redis, redis_namespace: str) -> None:
    now = [0.0]
    here = SecretHashKeys(redis_conn, redis_namespace, KEK, current_ttl=10, clock=lambda: now[0])
    there = SecretHashKeys(redis_conn, redis_namespace, KEK, current_ttl=10, clock=lambda: now[0])
    old = here.current()[0]
    assert there.current()[0] == old
    new = here.rotate()
    assert new != old
    assert here.current()[0] == new
    assert there.current()[0] == old  # cached for current_ttl
    now[0] = 10.0
    assert there.current()[0] == new
    assert sorted(there.kids()) == sorted([old, new])
    stored_old = ClientSecretHasher(SecretHashKeys(redis_conn, redis_namespace, KEK)).keys.key(old)
    assert stored_old == here.key(old)


def test_reseal_moves_server_keys_to_a_new_kek(redis_conn: redis.Redis, redis_namespace: str) -> None:
    before = ClientSecretHasher(SecretHashKeys(redis_conn, redis_namespace, KEK))
    stored = before.hash("s3cret")
    rotated = Sealer(SecretStr("next-kek"), [SecretStr("clientsecrets-test-kek")])
    assert SecretHashKeys(redis_conn, redis_namespace, rotated).reseal() == 1
    after = ClientSecretHasher(SecretHashKeys(redis_conn, redis_namespace, Sealer(SecretStr("next-kek"))))
    assert after.check("s3cret", stored).valid


# -- through the registry and the token endpoint ----------------------------------------------------------------


def _legacy_client(harness: IssuerHarness, client_id: str, secret: str) -> ClientRecord:
    """A client as an older Vigil stored it: an scrypt hash of its secret."""
    record = ClientRecord.model_validate(
        {
            "client_id": client_id,
            "auth_method": "client_secret",
            "secret_hash": legacy_scrypt(secret),
            "scopes": {"alerts:read"},
            "audiences": ("vigil",),
            "role": "analyst",
            "created_at": datetime.now(UTC),
        }
    )
    event = ClientAuditEvent(timestamp=datetime.now(UTC), actor="test", action="create", client_id=client_id)
    harness.issuer.registry.store.insert(record, event)
    return record


def _stored(harness: IssuerHarness, client_id: str) -> str:
    record = harness.issuer.registry.get(client_id)
    assert record.secret_hash is not None
    return record.secret_hash.get_secret_value()


def _with_audit(redis_conn: redis.Redis, redis_namespace: str) -> tuple[IssuerHarness, CollectingAuditSink]:
    harness = build(redis_conn, make_settings(redis_namespace))
    audit = CollectingAuditSink()
    settings = harness.settings
    harness.issuer = Issuer(
        settings,
        redis_conn,
        KeyStore(redis_conn, settings),
        RevocationPublisher(redis_conn, settings),
        decisions=DecisionBuffer(harness.sink),
        audit=audit,
    )
    return harness, audit


def test_a_legacy_scrypt_secret_is_migrated_on_first_success(redis_conn: redis.Redis, redis_namespace: str) -> None:
    harness, audit = _with_audit(redis_conn, redis_namespace)
    registry = harness.issuer.registry
    record = _legacy_client(harness, "old-ingest", "legacy-secret")

    assert registry.authenticate(record, "wrong-secret") is False
    assert _stored(harness, "old-ingest").startswith("scrypt$")  # a wrong secret migrates nothing
    assert not audit.events

    assert registry.authenticate(record, "legacy-secret") is True
    migrated = _stored(harness, "old-ingest")
    assert migrated.startswith("hmac-sha256$")
    assert registry.hasher.check("legacy-secret", migrated).current
    assert registry.authenticate(registry.get("old-ingest"), "legacy-secret") is True
    assert registry.authenticate(registry.get("old-ingest"), "legacy-secre") is False

    rehashes = [e for e in registry.history("old-ingest") if e.action == "rehash"]
    assert len(rehashes) == 1
    assert rehashes[0].actor == "edgeauth-issuer"
    assert rehashes[0].detail.startswith("secret re-hashed: scrypt -> hmac-sha256 key ")
    [event] = audit.events
    assert (event.action, event.category, event.type, event.target) == (
        "client-secret-rehashed",
        "iam",
        "change",
        "client:old-ingest",
    )
    assert "legacy-secret" not in event.model_dump_json()
    assert migrated not in event.model_dump_json()


def test_migration_never_overwrites_a_concurrent_change(redis_conn: redis.Redis, redis_namespace: str) -> None:
    harness, audit = _with_audit(redis_conn, redis_namespace)
    registry = harness.issuer.registry
    stale = _legacy_client(harness, "old-ingest", "legacy-secret")
    registry.set_disabled("old-ingest", True, actor="admin")  # an admin acts between our read and our write
    assert registry.authenticate(stale, "legacy-secret") is True  # the check itself used what was read
    current = registry.get("old-ingest")
    assert current.disabled is True
    assert _stored(harness, "old-ingest").startswith("scrypt$")
    assert [e.action for e in audit.events] == ["client-disabled"]


def test_token_endpoint_migrates_and_keeps_issuing(redis_conn: redis.Redis, redis_namespace: str) -> None:
    harness = build(redis_conn, make_settings(redis_namespace))
    with harness.http:
        _legacy_client(harness, "old-ingest", "legacy-secret")
        assert harness.token("old-ingest", "nope").status_code == 401
        assert _stored(harness, "old-ingest").startswith("scrypt$")
        first = harness.token("old-ingest", "legacy-secret")
        assert first.status_code == 200, first.text
        assert _stored(harness, "old-ingest").startswith("hmac-sha256$")
        again = harness.token("old-ingest", "legacy-secret")
        assert again.status_code == 200, again.text
        harness.replica.load_snapshot()
        assert harness.verifier.verify(again.json()["access_token"], ["alerts:read"]).client_id == "old-ingest"


def test_rotated_server_key_old_hashes_verify_and_move(redis_conn: redis.Redis, redis_namespace: str) -> None:
    harness = build(redis_conn, make_settings(redis_namespace))
    with harness.http:
        secret = harness.client("svc")
        old_kid = _stored(harness, "svc").split("$")[1]
        new_kid = harness.issuer.registry.hasher.keys.rotate()
        assert new_kid != old_kid
        assert harness.token("svc", secret + "x").status_code == 401
        assert _stored(harness, "svc").split("$")[1] == old_kid
        assert harness.token("svc", secret).status_code == 200
        assert _stored(harness, "svc").split("$")[1] == new_kid
        assert harness.token("svc", secret).status_code == 200
        fresh = harness.client("svc-2")
        assert _stored(harness, "svc-2").split("$")[1] == new_kid
        assert harness.token("svc-2", fresh).status_code == 200


def test_two_replicas_share_the_server_key(redis_conn: redis.Redis, redis_namespace: str) -> None:
    settings = make_settings(redis_namespace)
    first, second = build(redis_conn, settings), build(redis_conn, settings)
    with first.http, second.http:
        secret = first.client("svc")  # the first replica makes the server key and hashes under it
        assert second.token("svc", secret).status_code == 200
        assert second.token("svc", "not-it").status_code == 401
        _legacy_client(second, "old", "legacy-secret")
        assert second.token("old", "legacy-secret").status_code == 200  # migrated by the second replica
        assert first.token("old", "legacy-secret").status_code == 200  # checked by the first
        assert first.issuer.registry.hasher.keys.kids() == second.issuer.registry.hasher.keys.kids()
        assert len(first.issuer.registry.hasher.keys.kids()) == 1


def test_unknown_client_ids_are_refused_like_wrong_secrets(harness: IssuerHarness) -> None:
    secret = harness.client("svc")
    unknown = harness.token("nobody", secret)
    wrong = harness.token("svc", secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
