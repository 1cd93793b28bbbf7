"""Vigil's rules over the `audit` dataset: positives and negatives through the real ingest, then end to end from
the real key store, client registry and rule switch through the audit sink into an alert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from pydantic import SecretStr

from detections import Detections, ExceptionCreate, Level, TriageError, Verdict
from edgeauth import AuditBuffer, AuditEvent, CollectingAuditSink, EdgeAuthSettings, KeyStore
from edgeauth.issuer import ClientRegistry
from siem import AuditRecordSink, Pipeline
from tests.detections.conftest import alerts_of, later

pytestmark = pytest.mark.integration

KEY_OFF_SCHEDULE = "0078489d-8b96-4f3f-acdc-0d47b73d2234"
RULE_DISABLED = "3f45462c-0b19-4652-b00b-6df21d5c179d"
PRIVILEGED_CLIENT = "1987cd71-2f9b-4cb9-beac-e1f1526c9f14"
DOWNLOAD_REFUSED = "97fbbe6e-3d20-46b7-a598-aad5cd340aa7"
RETENTION_BELOW_POLICY = "39425f84-5ec4-459a-809c-6fd9fbaecd42"
SCANNER = "ac205f40-caa4-4100-a77d-592b520fcf38"


def change(action: str, target: str, **fields: Any) -> AuditEvent:
    return AuditEvent.model_validate(
        {
            "timestamp": datetime.now(UTC) - timedelta(seconds=5),
            "provider": "test",
            "action": action,
            "category": "configuration",
            "target": target,
            **fields,
        }
    )


def refused(target: str, reason: str) -> AuditEvent:
    return change("bundle-downloaded", target, category="file", outcome="failure", reason=reason)


def send(pipeline: Pipeline, events: list[AuditEvent]) -> None:
    AuditRecordSink(pipeline).emit(events)
    report = pipeline.drain()
    assert (report.indexed, report.dead_lettered) == (len(events), 0), report


def targets(det: Detections, rule_id: str) -> set[str]:
    return {a.group_key.removeprefix("vigil.audit.target=") for a in alerts_of(det, rule_id)}


def test_each_audit_rule_fires_on_its_change_and_not_on_its_neighbours(
    pipeline: Pipeline, make_detections: Callable[..., Detections]
) -> None:
    send(
        pipeline,
        [
            # keys: a withdrawal and an operator rotation alert; the scheduled rotation and an expiry do not
            change("key-withdrawn", "key:k1", category="iam"),
            change("key-rotated", "key:k2", category="iam", trigger="operator", reason="manual"),
            change("key-rotated", "key:k3", category="iam", trigger="schedule", reason="scheduled"),
            change("key-expired", "key:k4", category="iam", trigger="policy"),
            # rules: disabled alerts, enabled does not
            change("rule-disabled", "rule:r1", before={"enabled": True}, after={"enabled": False}),
            change("rule-enabled", "rule:r2", before={"enabled": False}, after={"enabled": True}),
            # clients: privileged creation and widened scopes alert; an ingest client and narrowed scopes do not
            change("client-created", "client:adm", category="iam", after={"scopes": ["rules:admin"]}),
            change("client-created", "client:ing", category="iam", after={"scopes": ["ingest:write"]}),
            change(
                "client-updated",
                "client:wide",
                category="iam",
                before={"scopes": ["alerts:read"]},
                after={"scopes": ["alerts:read", "alerts:triage"]},
            ),
            change(
                "client-updated",
                "client:narrow",
                category="iam",
                before={"scopes": ["alerts:read", "alerts:triage"]},
                after={"scopes": ["alerts:read"]},
            ),
            # evidence: refusals for the engagement alert; a success and an unknown bundle do not
            refused("bundle:b1", "outside-engagement"),
            refused("bundle:b2", "engagement-not-current"),
            refused("bundle:b3", "not-found"),
            change("bundle-downloaded", "bundle:b4", category="file"),
            # retention: a deletion under the 30-day policy alerts, one at the policy does not
            change("index-deleted", "index:short", trigger="policy", after={"retention_days": 7}),
            change("index-deleted", "index:kept", trigger="policy", after={"retention_days": 30}),
        ],
    )
    det = make_detections()
    report = det.run_cycle(later())
    assert not report.errors
    assert targets(det, KEY_OFF_SCHEDULE) == {"key:k1", "key:k2"}
    assert targets(det, RULE_DISABLED) == {"rule:r1"}
    assert targets(det, PRIVILEGED_CLIENT) == {"client:adm", "client:wide"}
    assert targets(det, DOWNLOAD_REFUSED) == {"bundle:b1", "bundle:b2"}
    assert targets(det, RETENTION_BELOW_POLICY) == {"index:short"}


def test_disabling_a_rule_rotating_a_key_and_widening_a_client_raise_their_alerts(
    pipeline: Pipeline,
    make_detections: Callable[..., Detections],
    redis_conn: redis.Redis,
    det_prefix: str,
) -> None:
    audit = AuditBuffer(AuditRecordSink(pipeline))
    settings = EdgeAuthSettings(namespace=det_prefix, key_encryption_key=SecretStr("kek-for-tests"))
    keys = KeyStore(redis_conn, settings, audit=audit)
    keys.ensure()
    keys.rotate("suspected leak", force=True, actor="ops")
    registry = ClientRegistry.from_settings(settings, redis_conn, audit=audit)
    registry.create("reporting", actor="ops", role="analyst", audiences=["vigil"])
    registry.set_scopes("reporting", ["alerts:read", "alerts:triage", "rules:admin"], actor="ops")
    det = make_detections(audit=audit)
    det.set_enabled(SCANNER, False, "mallory")
    det.add_exception(
        ExceptionCreate(rule_id=PRIVILEGED_CLIENT, reason="quiet please", match={"user.name": ["mallory"]}), "mallory"
    )
    assert audit.close() == 0
    pipeline.drain()
    report = det.run_cycle(later())
    assert not report.errors
    active = next(k.kid for k in keys.inventory() if k.state == "active")
    assert targets(det, KEY_OFF_SCHEDULE) == {f"key:{active}"}
    assert targets(det, PRIVILEGED_CLIENT) == {"client:reporting"}
    assert targets(det, RULE_DISABLED) == {f"rule:{SCANNER}", f"rule:{PRIVILEGED_CLIENT}"}
    actions = {a.group_key: a.events[0].fields.get("event.action") for a in alerts_of(det, RULE_DISABLED)}
    assert actions == {
        f"vigil.audit.target=rule:{SCANNER}": "rule-disabled",
        f"vigil.audit.target=rule:{PRIVILEGED_CLIENT}": "rule-loosened",
    }
    assert {a.events[0].fields.get("user.name") for a in alerts_of(det, RULE_DISABLED)} == {"mallory"}


def test_triage_transitions_are_audited(make_detections: Callable[..., Detections]) -> None:
    sink = CollectingAuditSink()
    det = make_detections(audit=sink)
    alert = det.raise_alert(key="k", title="A control failed", level=Level.HIGH, summary="s", group_key="g")
    det.acknowledge(alert.id, "ana", note="looking")
    det.resolve(alert.id, "ana", Verdict.BENIGN)
    with pytest.raises(TriageError):
        det.acknowledge(alert.id, "ana")  # a refused transition changes nothing and is not audited
    assert [(e.action, e.actor, e.target) for e in sink.events] == [
        ("alert-acknowledged", "ana", f"alert:{alert.id}"),
        ("alert-resolved", "ana", f"alert:{alert.id}"),
    ]
    resolved = sink.events[1]
    assert resolved.before is not None
    assert resolved.after is not None
    assert (resolved.before["status"], resolved.after["status"], resolved.after["verdict"]) == (
        "acknowledged",
        "resolved",
        "benign",
    )
