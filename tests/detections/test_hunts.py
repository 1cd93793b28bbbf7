"""Retro-hunts over real Elasticsearch: a rule added today finds last week's attack, in the CLI and through the
API as a job a real `vigil worker` runs; hunt alerts dedupe against the live engine's and against earlier hunts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from detections import (
    HUNT_TASK,
    Detections,
    HuntRequest,
    LimitExceededError,
    QueryError,
    RuleNotFoundError,
)
from tests.detections.conftest import Sender, alerts_of, api_client, later
from tests.vigil.running import RunningVigil, wait_for
from vigil.commands import app as cli
from vigil.settings import VigilSettings
from vigil.worker import create_celery

pytestmark = pytest.mark.integration

EVILBOT = "0d8a3c52-7f41-4d6e-9a0b-3c1e2f4a5b6c"
SCANNER = "ac205f40-caa4-4100-a77d-592b520fcf38"
RULE_ADDED_TODAY = f"""title: EvilBot Crawler
id: {EVILBOT}
status: test
description: the crawler seen in this week's threat report
author: tests
date: 2026-12-01
logsource:
    category: webserver
detection:
    selection:
        cs-user-agent|contains: evilbot
    condition: selection
level: high
"""
ATTACK_START = (datetime.now(UTC) - timedelta(days=7)).replace(microsecond=0)
ATTACKER = "203.0.113.50"


def _attack(sender: Sender) -> list[datetime]:
    """Last week: five EvilBot requests over ten minutes, one benign request in between."""
    stamps = [ATTACK_START + timedelta(minutes=m) for m in (0, 2, 5, 7, 10)]
    for n, stamp in enumerate(stamps):
        request = {"method": "GET", "path": f"/wp-admin/{n}", "status": 404, "remote_ip": ATTACKER}
        sender.send("json", [request | {"user_agent": "EvilBot/2.0"}], at=stamp)
    sender.send(
        "json",
        [{"method": "GET", "path": "/", "status": 200, "remote_ip": "198.51.100.7", "user_agent": "Mozilla/5.0"}],
        at=ATTACK_START + timedelta(minutes=3),
    )
    return stamps


def _span() -> list[str]:
    return [
        "--from",
        (ATTACK_START - timedelta(days=1)).isoformat(),
        "--to",
        (ATTACK_START + timedelta(days=1)).isoformat(),
    ]


def test_a_rule_added_today_finds_last_weeks_attack_in_the_cli(
    tmp_path: Path, sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    stamps = _attack(sender)
    make_detections().run_cycle(later())  # the live engine, before the rule existed
    (tmp_path / "evilbot.yml").write_text(RULE_ADDED_TODAY)
    det = make_detections(rule_paths=[tmp_path])
    env = {"VIGIL_NAMESPACE": det.settings.namespace, "VIGIL_DETECTIONS__RULE_PATHS": f'["{tmp_path}"]'}
    runner = CliRunner()

    dry = runner.invoke(cli, ["detections", "run", *_span(), "--rule", EVILBOT, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "48 window(s)" in dry.output
    assert f"{EVILBOT}  hits 5  groups 1  EvilBot Crawler" in dry.output
    assert f"       5  source.ip={ATTACKER}" in dry.output
    assert alerts_of(det, EVILBOT) == []  # a dry run writes nothing

    done = runner.invoke(cli, ["detections", "run", *_span(), "--rule", EVILBOT], env=env)
    assert done.exit_code == 0, done.output
    assert "alerts 1  already alerted 0" in done.output
    [alert] = alerts_of(det, EVILBOT)
    assert alert.category == "hunt"
    assert alert.count == 5
    assert (alert.first_seen, alert.last_seen) == (stamps[0], stamps[-1])
    assert alert.group_key == f"source.ip={ATTACKER}"
    assert any(t.startswith("vigil.hunt.") for t in alert.tags)

    again = runner.invoke(cli, ["detections", "run", *_span(), "--rule", EVILBOT], env=env)
    assert "alerts 0  already alerted 1" in again.output
    assert [a.id for a in alerts_of(det, EVILBOT)] == [alert.id]


def test_a_hunt_dedupes_against_the_live_engines_alerts(
    sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    sender.send(
        "json",
        [{"method": "GET", "path": "/", "status": 404, "remote_ip": "192.0.2.9", "user_agent": "sqlmap/1.7"}],
        at=ATTACK_START,
    )
    det = make_detections()
    det.run_cycle(later())  # ingested now: the live engine alerts on it
    [live] = alerts_of(det, SCANNER)
    start, end = ATTACK_START - timedelta(hours=1), ATTACK_START + timedelta(hours=1)
    job = det.hunt(HuntRequest(start=start.isoformat(), end=end.isoformat(), rules=[SCANNER]), "ana")
    [result] = job.results
    assert (result.hits, result.alerts_changed, result.already_alerted) == (1, 0, 1)
    assert [(a.id, a.count, a.category) for a in alerts_of(det, SCANNER)] == [(live.id, 1, "detection")]


def test_a_hunt_raises_a_live_alert_that_counted_fewer_events(
    sender: Sender, make_detections: Callable[..., Detections]
) -> None:
    """The live engine saw one request; a second one with the same `@timestamp` was ingested after its cycle. The
    hunt counts both: it reconciles the live alert's count (it does not skip it, nor add to it) and a second hunt
    finds nothing more to do."""
    request = {"method": "GET", "path": "/", "status": 404, "remote_ip": "192.0.2.10", "user_agent": "sqlmap/1.7"}
    sender.send("json", [request], at=ATTACK_START)
    det = make_detections()
    det.run_cycle(later())
    [live] = alerts_of(det, SCANNER)
    assert live.count == 1
    sender.send("json", [request | {"path": "/admin"}], at=ATTACK_START)
    hunted = HuntRequest(
        start=(ATTACK_START - timedelta(hours=1)).isoformat(),
        end=(ATTACK_START + timedelta(hours=1)).isoformat(),
        rules=[SCANNER],
    )
    [result] = det.hunt(hunted, "ana").results
    assert (result.hits, result.alerts_changed, result.already_alerted) == (2, 1, 0)
    [alert] = alerts_of(det, SCANNER)
    assert (alert.id, alert.count, alert.category) == (live.id, 2, "detection")
    assert (alert.first_seen, alert.last_seen) == (ATTACK_START, ATTACK_START)
    [again] = det.hunt(hunted, "ana").results
    assert (again.alerts_changed, again.already_alerted) == (0, 1)
    assert [a.count for a in alerts_of(det, SCANNER)] == [2]


def test_hunt_bounds_are_refused(make_detections: Callable[..., Detections]) -> None:
    det = make_detections()
    with pytest.raises(LimitExceededError, match="at most 400 days"):
        det.hunt(HuntRequest(start="now-500d"), "ana")
    with pytest.raises(QueryError, match="before"):
        det.hunt(HuntRequest(start="now", end="now-1d"), "ana")
    with pytest.raises(RuleNotFoundError):
        det.hunt(HuntRequest(start="now-1d", rules=["no-such-rule"]), "ana")


def test_an_api_hunt_is_a_job_the_worker_runs(
    tmp_path: Path,
    settings: VigilSettings,
    es: Elasticsearch,
    redis_conn: redis.Redis,
    edge_auth: Any,
    sender: Sender,
    make_detections: Callable[..., Detections],
) -> None:
    _attack(sender)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evilbot.yml").write_text(RULE_ADDED_TODAY)
    det = make_detections(rule_paths=[rules])
    namespace = det.settings.namespace
    queue = create_celery(settings.in_namespace(namespace))
    det.hunt_launcher = lambda job_id: queue.send_task(HUNT_TASK, args=[job_id])
    client = api_client(edge_auth.guard, det)
    hunter = {"Authorization": f"Bearer {edge_auth.token(['hunt:run', 'alerts:read'], subject='ana')}"}
    reader = {"Authorization": f"Bearer {edge_auth.token(['alerts:read'], subject='bob')}"}
    body = {
        "from": (ATTACK_START - timedelta(hours=2)).isoformat(),
        "to": (ATTACK_START + timedelta(hours=2)).isoformat(),
        "rules": [EVILBOT],
    }
    assert client.post("/detections/hunts", json=body, headers=reader).status_code == 403
    assert client.post("/detections/hunts", json=body | {"from": "last tuesday"}, headers=hunter).status_code == 400
    started = client.post("/detections/hunts", json=body, headers=hunter)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    assert started.headers["location"] == f"/detections/hunts/{job_id}"
    assert client.get(f"/detections/hunts/{job_id}", headers=reader).json()["status"] == "queued"
    worker = RunningVigil(namespace, tmp_path / "home", VIGIL_DETECTIONS__RULE_PATHS=f'["{rules}"]')
    try:
        # No live cycles in this worker: on fresh events they race the hunt (the live engine and hunts count on
        # different time fields, see docs/detections.md), and this test is about the hunt job alone.
        worker.start_worker(detections=False)
        wait_for(
            lambda: client.get(f"/detections/hunts/{job_id}", headers=reader).json()["status"] in {"done", "failed"},
            "the worker to finish the hunt",
            deadline=180,
            every=0.5,
        )
    finally:
        worker.stop()
    job = client.get(f"/detections/hunts/{job_id}", headers=reader).json()
    assert job["status"] == "done", (job, worker.log_text()[-2000:])
    assert job["windows_done"] == job["windows_total"] == 4
    [result] = job["results"]
    assert (result["hits"], result["groups"]) == (5, 1)
    assert (result["alerts_changed"], result["already_alerted"]) == (1, 0)
    assert result["by_group"] == {f"source.ip={ATTACKER}": 5}
    [alert] = alerts_of(det, EVILBOT)
    assert alert.count == 5
    assert client.get("/detections/hunts/nope", headers=reader).status_code == 404


def test_a_worker_without_the_rule_says_so_on_the_job(
    tmp_path: Path, make_detections: Callable[..., Detections]
) -> None:
    (tmp_path / "evilbot.yml").write_text(RULE_ADDED_TODAY)
    api_side = make_detections(rule_paths=[tmp_path])
    queued: list[str] = []
    api_side.hunt_launcher = queued.append
    job = api_side.start_hunt(HuntRequest(start="now-2h", rules=[EVILBOT, SCANNER]), "ana")
    assert queued == [job.id]
    assert api_side.hunt_job(job.id).status == "queued"
    worker_side = make_detections()  # bundled rules only: EvilBot is not on this worker
    done = worker_side.run_hunt_job(job.id)
    assert done.status == "done"
    by_rule = {r.rule_id: r for r in done.results}
    assert by_rule[SCANNER].errors == []
    assert by_rule[EVILBOT].errors == ["this rule is not loaded on the worker that ran the hunt"]
    assert worker_side.run_hunt_job(job.id).status == "done"  # a redelivered task does not run it twice
