"""Continuous status end to end: collect, evaluate, keep history, alert once per newly failing control, and put
the status history and the OSCAL export into the locker so an evidence bundle carries them."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis
from elasticsearch import Elasticsearch
from pydantic import SecretStr

from compliance import Compliance, ComplianceSettings, Outcome, Period, Sources
from detections import AlertFilter, Detections, DetectionsSettings
from edgeauth import CollectingAuditSink, EdgeAuthSettings, Sealer
from edgeauth.keystore import KeyStore
from evidence import EvidenceArchive, EvidenceSettings
from tests.compliance.oscal_validation import validate_assessment_results

pytestmark = pytest.mark.integration


@pytest.fixture
def detections(
    es: Elasticsearch, redis_conn: redis.Redis, es_namespace: str, apply_indices: Callable[..., None]
) -> Detections:
    apply_indices(es_namespace, "detections", "compliance")
    return Detections(DetectionsSettings(namespace=es_namespace), es, redis_conn)


@pytest.fixture
def archive(es: Elasticsearch, redis_conn: redis.Redis, evidence_settings: EvidenceSettings) -> EvidenceArchive:
    return EvidenceArchive(es, redis_conn, evidence_settings, Sealer(SecretStr("compliance-test-kek")))


def _service(
    es: Elasticsearch,
    redis_conn: redis.Redis,
    namespace: str,
    archive: EvidenceArchive,
    detections: Detections,
    audit: CollectingAuditSink | None = None,
) -> Compliance:
    settings = ComplianceSettings(namespace=namespace, scope=("CC6.1", "A.8.24", "A.5.28"))
    edge = EdgeAuthSettings(namespace=namespace, key_encryption_key=SecretStr("compliance-test-pass"))
    keys = KeyStore(redis_conn, edge)
    keys.ensure()
    sources = Sources(settings=settings, es=es, locker=archive.locker, edgeauth=edge, keys=keys)
    return Compliance(settings, es, archive.locker, sources=sources, alerts=detections, audit=audit)


def test_status_history_alerts_and_bundle_with_oscal(
    es: Elasticsearch,
    redis_conn: redis.Redis,
    es_namespace: str,
    archive: EvidenceArchive,
    detections: Detections,
) -> None:
    audit = CollectingAuditSink()
    service = _service(es, redis_conn, es_namespace, archive, detections, audit)
    start = datetime.now(UTC)
    collected = service.collect(now=start)
    assert {c.collector for c in collected.collected} == {
        "edgeauth.signing_keys",
        "edgeauth.token_policy",
        "evidence.downloads",
        "compliance.config",
    }
    assert not collected.failed

    first = service.refresh(now=start + timedelta(seconds=1))
    table = {c.control_id: c for c in first.report.controls}
    assert list(table) == ["CC6.1", "A.5.28", "A.8.24"]
    assert table["CC6.1"].outcome is Outcome.PASS, table["CC6.1"].reason
    # The trailing 24 h window began long before the first collection: the evaluation gap is itself a finding.
    assert table["A.5.28"].outcome is Outcome.FAIL
    assert "no collection from" in table["A.5.28"].reason
    assert first.newly_failing == ("A.5.28",)
    assert first.alerts_raised == 1

    # every control's first status is a change; the audit sink sees it as `control-status-changed`
    assert sorted((e.target, e.before, (e.after or {}).get("outcome")) for e in audit.events) == [
        ("control:A.5.28", None, "fail"),
        ("control:A.8.24", None, table["A.8.24"].outcome.value),
        ("control:CC6.1", None, "pass"),
    ]
    second = service.refresh(now=start + timedelta(seconds=2))
    assert second.newly_failing == ()
    assert second.alerts_raised == 0
    assert len(audit.events) == 3  # nothing changed, nothing audited
    alerts = detections.alerts(AlertFilter(category="compliance"))
    assert alerts.total == 1
    assert alerts.alerts[0].rule_id == "compliance:control-A.5.28"

    period = Period(start=start - timedelta(seconds=1), end=start + timedelta(seconds=10))
    history = service.history(period)
    assert [r.evaluated_at for r in history] == [first.report.evaluated_at, second.report.evaluated_at]

    published = service.publish(period)
    assert published.evaluations == 2
    bundle = archive.build_bundle(period.start, period.end)
    with archive.open_bundle(bundle.info) as stored, zipfile.ZipFile(stored) as zipped:
        documents = [json.loads(zipped.read(n)) for n in zipped.namelist() if n.endswith(".json")]
    oscal = [d for d in documents if isinstance(d, dict) and "assessment-results" in d]
    assert len(oscal) == 1
    model = validate_assessment_results(oscal[0])
    assert {f.target.target_id for f in model.results[0].findings or []} == {"CC6.1", "A.5.28", "A.8.24"}
    histories = [d for d in documents if isinstance(d, list) and d and "evaluated_at" in d[0]]
    assert len(histories) == 1
    assert len(histories[0]) == 2


def test_an_auditor_rerunning_the_checks_gets_the_same_verdicts(
    es: Elasticsearch, redis_conn: redis.Redis, es_namespace: str, archive: EvidenceArchive, detections: Detections
) -> None:
    service = _service(es, redis_conn, es_namespace, archive, detections)
    start = datetime.now(UTC)
    for minute in range(3):
        service.collect(now=start + timedelta(minutes=minute))
    period = Period(start=start, end=start + timedelta(minutes=5))
    assert service.evaluate(period) == service.evaluate(period)
    assert service.oscal(period) == service.oscal(period)


def test_evidence_downloads_are_collected(
    es: Elasticsearch, redis_conn: redis.Redis, es_namespace: str, archive: EvidenceArchive, detections: Detections
) -> None:
    service = _service(es, redis_conn, es_namespace, archive, detections)
    start = datetime.now(UTC)
    service.collect(now=start)
    bundle = archive.build_bundle(start - timedelta(seconds=1), start + timedelta(seconds=1))
    archive.record_download(subject="auditor-1", client_id="aud", token_id="t1", info=bundle.info, byte_range=None)
    later = datetime.now(UTC) + timedelta(seconds=1)
    report = service.collect(now=later, only=("evidence.downloads",))
    item = next(
        i for i in archive.locker.items(later, later + timedelta(seconds=1)) if i.collector == "evidence.downloads"
    )
    with archive.locker.open_content(item.sha256) as handle:
        payload = json.load(handle)
    assert report.collected[0].sequence == item.sequence
    assert [d["bundle"] for d in payload["downloads"]] == [bundle.info.name]
    assert payload["downloads"][0]["subject"] == "auditor-1"
