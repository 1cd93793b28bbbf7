"""Log sources, dead letter, retention and revocations judged on evidence from real siem indices."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis
from elasticsearch import Elasticsearch

from compliance import ComplianceSettings, Outcome, Sources, collect
from compliance.evidence import Revocations
from siem import IndexLayout, Pipeline, Retention, SiemSettings
from tests.compliance.conftest import Judge

pytestmark = pytest.mark.integration


def _access_line(at: datetime) -> str:
    return f'203.0.113.7 - - [{at:%d/%b/%Y:%H:%M:%S +0000}] "GET /api/items HTTP/1.1" 200 512 "-" "curl/8.5"'


def _revocation(at: datetime, jti: str) -> str:
    return json.dumps(
        {
            "timestamp": at.isoformat(),
            "outcome": "success",
            "reason": "ok",
            "action": "revoke",
            "jti": jti,
            "client_id": "ops-admin",
        }
    )


@pytest.fixture
def pipeline(
    es: Elasticsearch, redis_conn: redis.Redis, es_namespace: str, apply_indices: Callable[..., None]
) -> Pipeline:
    apply_indices(es_namespace, "siem")
    settings = SiemSettings(namespace=es_namespace)
    pipe = Pipeline(es, redis_conn, settings)
    pipe.setup()
    return pipe


def test_sources_active_then_silent_and_dead_letter(
    pipeline: Pipeline, compliance_settings: ComplianceSettings, es: Elasticsearch, judge: Judge
) -> None:
    now = datetime.now(UTC)
    pipeline.push("nginx", [_access_line(now - timedelta(minutes=5)), _access_line(now - timedelta(minutes=1))])
    pipeline.drain()
    sources = Sources(settings=compliance_settings, es=es, siem=pipeline.settings)

    active = judge("logging.sources_active", sources, "siem.ingestion", at=now)
    assert active.outcome is Outcome.PASS, active.reason
    assert judge("logging.dead_letter", sources, "siem.ingestion", at=now).outcome is Outcome.PASS

    silent = judge("logging.sources_active", sources, "siem.ingestion", at=now + timedelta(hours=30))
    assert silent.outcome is Outcome.FAIL
    assert "silent for 1d" in silent.reason

    pipeline.push("auth", ["{this is not json"])
    pipeline.drain()
    later = datetime.now(UTC)
    lost = judge("logging.dead_letter", sources, "siem.ingestion", at=later)
    assert lost.outcome is Outcome.FAIL
    assert lost.reason.startswith("1 event(s) dead-lettered")


def test_retention_policy_and_deletion_log(
    pipeline: Pipeline, compliance_settings: ComplianceSettings, es: Elasticsearch, judge: Judge
) -> None:
    kept = SiemSettings(namespace=pipeline.settings.namespace, retention_days=30)
    sources = Sources(settings=compliance_settings, es=es, siem=kept, retention=Retention(es, IndexLayout(kept)))
    assert judge("logging.retention", sources, "siem.retention").outcome is Outcome.PASS

    short = SiemSettings(namespace=pipeline.settings.namespace, retention_days=3)
    old_day = datetime.now(UTC) - timedelta(days=5)
    es.indices.create(index=IndexLayout(short).index_for("access", old_day))
    deleted = Retention(es, IndexLayout(short)).apply()
    assert deleted, "the 5-day-old index should have been deleted under a 3-day retention"
    sources = Sources(settings=compliance_settings, es=es, siem=short, retention=Retention(es, IndexLayout(short)))
    verdict = judge("logging.retention", sources, "siem.retention")
    assert verdict.outcome is Outcome.FAIL
    assert "retention set to 3d" in verdict.findings[0]
    assert any("deleted after 5d" in f for f in verdict.findings)


def test_revocations_are_collected_from_auth_events(
    pipeline: Pipeline, compliance_settings: ComplianceSettings, es: Elasticsearch, locker
) -> None:
    now = datetime.now(UTC)
    pipeline.push("auth", [_revocation(now - timedelta(minutes=2), "jti-revoked-1")])
    pipeline.drain()
    sources = Sources(settings=compliance_settings, es=es, siem=pipeline.settings)
    report = collect(locker, sources, only=("edgeauth.revocations",), now=now)
    assert [c.collector for c in report.collected] == ["edgeauth.revocations"]
    item = next(locker.items(now - timedelta(seconds=1), now + timedelta(seconds=1)))
    with locker.open_content(item.sha256) as handle:
        payload = Revocations.model_validate_json(handle.read())
    assert [r.jti for r in payload.revocations] == ["jti-revoked-1"]
    assert item.source_system == "siem"
    assert item.parameters["namespace"] == pipeline.settings.namespace
    assert set(item.control_ids) == {"CC6.2", "A.5.18", "CC4.1", "A.5.28"}
