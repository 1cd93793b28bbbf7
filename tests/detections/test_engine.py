"""The engine against the real services: checkpoints, catch-up, dedup, grouping, history, absence, failures."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from detections import Detections, Verdict
from detections.catalog.loader import RuleSet
from tests.detections.conftest import Sender, alerts_of, later

pytestmark = pytest.mark.integration

SCANNER = "ac205f40-caa4-4100-a77d-592b520fcf38"
REVOKED = "df625dc4-22a0-452e-9119-597f91a3ccc1"


def scan(ip: str = "192.0.2.9") -> dict[str, object]:
    return {"method": "GET", "path": "/", "status": 404, "remote_ip": ip, "user_agent": "nuclei/3.0"}


def test_reprocessing_a_window_creates_no_duplicate(sender: Sender, make_detections: Callable[..., Detections]) -> None:
    sender.send("json", [scan(), scan()])
    det = make_detections()
    det.run_cycle(later())
    first = alerts_of(det, SCANNER)
    assert len(first) == 1
    assert first[0].count == 2
    det.state.redis.delete(det.settings.key("checkpoints"))  # lose the checkpoint: the same span runs again
    det.run_cycle(later(), force=True)
    again = alerts_of(det, SCANNER)
    assert [(a.id, a.count) for a in again] == [(first[0].id, 2)]


def test_repeat_matches_update_one_open_alert(sender: Sender, make_detections: Callable[..., Detections]) -> None:
    det = make_detections()
    sender.send("json", [scan()])
    det.run_cycle(later())
    sender.send("json", [scan(), scan("192.0.2.10")])
    det.run_cycle(later(), force=True)
    alerts = {a.group_key: a for a in alerts_of(det, SCANNER)}
    assert set(alerts) == {"source.ip=192.0.2.9", "source.ip=192.0.2.10"}
    assert alerts["source.ip=192.0.2.9"].count == 2
    assert len(alerts["source.ip=192.0.2.9"].event_ids) == 2


def test_a_resolved_alert_is_not_reopened_by_new_matches(
    sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    det = make_detections()
    sender.send("json", [scan()])
    det.run_cycle(later())
    resolved = det.resolve(alerts_of(det, SCANNER)[0].id, "ana", verdict=Verdict.BENIGN)
    sender.send("json", [scan()])
    det.run_cycle(later(), force=True)
    alerts = alerts_of(det, SCANNER)
    assert len(alerts) == 2
    assert {a.status.value for a in alerts} == {"resolved", "new"}
    assert next(a for a in alerts if a.id == resolved.id).count == 1


def test_catch_up_after_downtime_runs_bounded_windows_without_gaps(
    sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    det = make_detections(max_window_seconds=3600, max_catch_up_windows=2)
    now = later()
    det.state.save({SCANNER: now - timedelta(hours=5)}, {})
    sender.send("json", [scan()])
    report = det.run_cycle(datetime.now(UTC), force=True)
    windows = sorted((r.window_start, r.window_end) for r in report.runs if r.rule_id == SCANNER)
    assert len(windows) == 2
    assert windows[0][0] == now - timedelta(hours=5)
    assert windows[0][1] == windows[1][0]
    assert det.state.checkpoint(SCANNER) == now - timedelta(hours=3)
    assert alerts_of(det, SCANNER) == []  # the event is newer than the windows run so far
    for _ in range(2):
        det.run_cycle(datetime.now(UTC), force=True)
    assert len(alerts_of(det, SCANNER)) == 1
    history = det.run_history(SCANNER, limit=50)
    spans = sorted((r.window_start, r.window_end) for r in history)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert sum(r.hits for r in history) == 1


def test_rules_run_on_their_interval_and_disabled_rules_do_not_run(make_detections: Callable[..., Detections]) -> None:
    det = make_detections(interval_seconds=300)
    now = later()
    first = det.run_cycle(now)
    assert {r.rule_id for r in first.runs} >= {SCANNER, REVOKED}
    assert det.run_cycle(now + timedelta(seconds=10)).runs == []  # not due yet
    det.set_enabled(SCANNER, False, actor="admin")
    due = {r.rule_id for r in det.run_cycle(now + timedelta(seconds=301)).runs}
    assert REVOKED in due
    assert SCANNER not in due
    assert not next(r for r in det.rules() if r.id == SCANNER).enabled


def test_a_failing_query_is_recorded_and_keeps_its_checkpoint(
    sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    det = make_detections()
    good = det.ruleset.rules[SCANNER]
    broken = replace(good, info=good.info.model_copy(update={"id": "broken"}), query="user_agent.original:(")
    det = Detections(det.settings, det.es, det.state.redis, ruleset=RuleSet({"broken": broken, SCANNER: good}))
    sender.send("json", [scan()])
    report = det.run_cycle(later())
    errors = {r.rule_id: r.error for r in report.runs if r.error}
    assert set(errors) == {"broken"}
    assert "query" in (errors["broken"] or "").lower()
    assert det.state.checkpoint("broken") is None
    assert det.state.checkpoint(SCANNER) is not None
    assert len(alerts_of(det, SCANNER)) == 1
    assert [r.rule_id for r in det.failures()] == ["broken"]


def test_a_silent_source_raises_an_absence_alert_and_blinds_its_rules(
    sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    det = make_detections(absence_minutes=15)
    sender.send("json", [{"method": "GET", "path": "/", "status": 200, "remote_ip": "10.9.9.9"}])
    det.run_cycle(later())
    assert alerts_of(det, "vigil-absence-access") == []
    silent_now = datetime.now(UTC) + timedelta(minutes=20)
    report = det.run_cycle(silent_now, force=True)
    health = {h.dataset: h for h in report.health}
    assert health["access"].silent
    assert not health["auth"].silent
    absence = alerts_of(det, "vigil-absence-access")
    assert len(absence) == 1
    assert absence[0].category == "absence"
    det.run_cycle(silent_now + timedelta(minutes=5), force=True)
    assert len(alerts_of(det, "vigil-absence-access")) == 1  # one open alert, not one per cycle
    blind = {r.id for r in det.rules(report.health) if r.blind}
    assert SCANNER in blind
    assert REVOKED not in blind
