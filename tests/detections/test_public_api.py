"""What compliance reads and writes through detections' public API."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from detections import AlertFilter, Detections, Level, Verdict
from tests.detections.conftest import Sender, later

pytestmark = pytest.mark.integration


def test_compliance_reads_rules_history_failures_and_triage_times(
    sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    det = make_detections()
    enabled = det.enabled_rules()
    assert enabled
    assert all(r.enabled and r.standalone for r in enabled)
    sender.send("auth", [{"outcome": "failure", "reason": "revoked", "source_ip": "203.0.113.3", "jti": "x"}])
    det.run_cycle(later())
    assert det.run_history(limit=100)
    assert det.failures() == []
    alert = det.alerts(AlertFilter(level=[Level.HIGH])).alerts[0]
    det.acknowledge(alert.id, "ana")
    det.resolve(alert.id, "ana", Verdict.TRUE_POSITIVE)
    times = {t.level: t for t in det.triage_times()}
    assert times[Level.HIGH].resolved == 1
    to_resolve = times[Level.HIGH].mean_seconds_to_resolve
    assert to_resolve is not None
    assert to_resolve >= 0
    assert times[Level.LOW].resolved == 0
    assert times[Level.LOW].mean_seconds_to_ack is None


def test_compliance_raises_one_open_alert_per_control_and_group(make_detections: Callable[..., Detections]) -> None:
    det = make_detections()
    first = det.raise_alert(
        key="CC6.1",
        title="Control CC6.1 failing",
        level=Level.HIGH,
        summary="MFA missing",
        group_key="client=a",
        evidence={"check": "mfa"},
    )
    again = det.raise_alert(
        key="CC6.1", title="Control CC6.1 failing", level=Level.HIGH, summary="MFA missing", group_key="client=a"
    )
    assert again.id == first.id
    assert again.count == 2
    assert first.category == "compliance"
    page = det.alerts(AlertFilter(category="compliance"))
    assert [a.id for a in page.alerts] == [first.id]
