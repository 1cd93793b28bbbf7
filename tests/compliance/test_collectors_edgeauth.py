"""Key rotation, algorithms, token lifetime and access review judged on evidence from the real edgeauth stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from pydantic import SecretStr

from compliance import ComplianceSettings, Outcome, Sources
from edgeauth import EdgeAuthSettings
from edgeauth.issuer import ClientRegistry, ClientSecretHasher, RedisClientStore, SecretHashKeys
from edgeauth.keystore import KeyStore
from edgeauth.sealing import Sealer
from tests.compliance.conftest import Judge

pytestmark = pytest.mark.integration

SCOPES = ("admin", "alerts:read", "alerts:triage", "evidence:read", "compliance:read", "ingest:write")


def _edgeauth(namespace: str, **overrides: object) -> EdgeAuthSettings:
    return EdgeAuthSettings(
        namespace=namespace, key_encryption_key=SecretStr("compliance-test-passphrase"), **overrides
    )


def test_signing_key_rotation_fails_when_stale_and_passes_after_rotation(
    redis_conn: redis.Redis, redis_namespace: str, compliance_settings: ComplianceSettings, judge: Judge
) -> None:
    settings = _edgeauth(redis_namespace)
    now = datetime.now(UTC)
    created = (now - timedelta(days=200)).timestamp()
    KeyStore(redis_conn, settings, clock=lambda: created).ensure()
    store = KeyStore(redis_conn, settings)
    sources = Sources(settings=compliance_settings, keys=store, edgeauth=settings)

    stale = judge("keys.rotation_age", sources, "edgeauth.signing_keys", at=now)
    assert stale.outcome is Outcome.FAIL
    assert "active for 200d" in stale.reason
    assert stale.thresholds == {"key_rotation_days": 90}

    store.rotate("compliance test", force=True)
    fresh = judge("keys.rotation_age", sources, "edgeauth.signing_keys", at=now + timedelta(seconds=5))
    assert fresh.outcome is Outcome.PASS, fresh.reason
    assert fresh.evidence_ids
    assert fresh.evidence_ids != stale.evidence_ids


def test_algorithms_and_lifetime_from_the_edgeauth_settings_in_force(
    redis_conn: redis.Redis, redis_namespace: str, compliance_settings: ComplianceSettings, judge: Judge
) -> None:
    strict = _edgeauth(redis_namespace)
    KeyStore(redis_conn, strict).ensure()
    sources = Sources(settings=compliance_settings, keys=KeyStore(redis_conn, strict), edgeauth=strict)
    collectors = ("edgeauth.token_policy", "edgeauth.signing_keys")
    assert judge("tokens.algorithms", sources, *collectors).outcome is Outcome.PASS
    assert judge("tokens.lifetime", sources, "edgeauth.token_policy").outcome is Outcome.PASS

    long_lived = Sources(settings=compliance_settings, edgeauth=_edgeauth(redis_namespace, access_token_ttl=3600))
    verdict = judge("tokens.lifetime", long_lived, "edgeauth.token_policy")
    assert verdict.outcome is Outcome.FAIL
    assert "3600s" in verdict.reason


def test_privileged_clients_pass_when_reviewed_and_fail_once_overdue(
    redis_conn: redis.Redis, redis_namespace: str, compliance_settings: ComplianceSettings, judge: Judge
) -> None:
    keys = SecretHashKeys(redis_conn, redis_namespace, Sealer(SecretStr("collector-test-kek")))
    registry = ClientRegistry(
        RedisClientStore(redis_conn, redis_namespace), scopes_supported=SCOPES, hasher=ClientSecretHasher(keys)
    )
    registry.create("ops-admin", actor="test", role="admin", audiences=["vigil"])
    registry.create("log-shipper", actor="test", role="ingest", audiences=["vigil"])
    sources = Sources(settings=compliance_settings, clients=registry)
    collectors = ("edgeauth.clients", "edgeauth.access_holders")

    assert judge("access.privileged_review", sources, *collectors).outcome is Outcome.PASS
    later = datetime.now(UTC) + timedelta(days=100)
    overdue = judge("access.privileged_review", sources, *collectors, at=later)
    assert overdue.outcome is Outcome.FAIL
    assert overdue.reason.startswith("client ops-admin (admin) never reviewed")

    registry.review("ops-admin", actor="auditor-prep")
    reviewed = judge("access.privileged_review", sources, *collectors, at=datetime.now(UTC) + timedelta(days=30))
    assert reviewed.outcome is Outcome.PASS
