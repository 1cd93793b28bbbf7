"""Rule health and alert triage judged on evidence from the real detections service and alert index."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis
from elasticsearch import Elasticsearch

from compliance import ComplianceSettings, Outcome, RuleSource, Sources, collect
from compliance.evidence import AlertTriage
from detections import Detections, DetectionsSettings, Level
from evidence import EvidenceLocker
from siem import Pipeline, SiemSettings
from tests.compliance.conftest import Judge

pytestmark = pytest.mark.integration


@pytest.fixture
def detections(
    es: Elasticsearch,
    redis_conn: redis.Redis,
    es_namespace: str,
    redis_namespace: str,
    apply_indices: Callable[..., None],
) -> Detections:
    apply_indices(es_namespace, "siem", "detections")
    Pipeline(es, redis_conn, SiemSettings(namespace=es_namespace)).setup()
    return Detections(DetectionsSettings(namespace=es_namespace, ingest_delay_seconds=0), es, redis_conn)


def _sources(settings: ComplianceSettings, es: Elasticsearch, detections: Detections) -> Sources:
    source: RuleSource = detections  # the facade satisfies the Protocol compliance reads through
    return Sources(settings=settings, es=es, detections=source, alerts_index=detections.settings.alerts_index)


def test_rules_pass_when_running_and_fail_when_none_is_enabled(
    detections: Detections, compliance_settings: ComplianceSettings, es: Elasticsearch, judge: Judge
) -> None:
    detections.run_cycle(force=True)
    sources = _sources(compliance_settings, es, detections)
    healthy = judge("detections.rules_healthy", sources, "detections.rules")
    assert healthy.outcome is Outcome.PASS, healthy.reason

    for rule in detections.rules():
        detections.set_enabled(rule.id, False, actor="compliance-test")
    verdict = judge("detections.rules_healthy", sources, "detections.rules")
    assert verdict.outcome is Outcome.FAIL
    assert verdict.reason.startswith("no rule enabled")


def test_high_alert_fails_past_its_sla_and_passes_once_acknowledged_in_time(
    detections: Detections,
    compliance_settings: ComplianceSettings,
    es: Elasticsearch,
    judge: Judge,
    locker: EvidenceLocker,
) -> None:
    alert = detections.raise_alert(
        key="sla-test", title="An alert to triage", level=Level.HIGH, summary="test", group_key="g1"
    )
    sources = _sources(compliance_settings, es, detections)
    late = judge("detections.alert_ack_sla", sources, "detections.alerts", at=datetime.now(UTC) + timedelta(hours=5))
    assert late.outcome is Outcome.FAIL
    assert late.reason.startswith(f"high alert {alert.id} unacknowledged for 5h")

    within = judge("detections.alert_ack_sla", sources, "detections.alerts")
    assert within.outcome is Outcome.PASS

    detections.acknowledge(alert.id, "analyst-1")
    es.indices.refresh(index=detections.settings.alerts_index)
    triage = collect(locker, sources, only=("detections.alerts",))
    item = next(
        i for i in locker.items(triage.at, triage.at + timedelta(seconds=1)) if i.collector == "detections.alerts"
    )
    with locker.open_content(item.sha256) as handle:
        high = next(s for s in AlertTriage.model_validate_json(handle.read()).by_level if s.level == "high")
    assert (high.alerts, high.acknowledged) == (1, 1)
    assert high.max_seconds_to_ack is not None
    assert high.max_seconds_to_ack >= 0

    acked = judge("detections.alert_ack_sla", sources, "detections.alerts", since=alert.created - timedelta(seconds=1))
    assert acked.outcome is Outcome.PASS, acked.reason
