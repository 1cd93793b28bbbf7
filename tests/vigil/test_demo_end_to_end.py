"""`vigil demo` end to end on the real services, small: the storyline must surface as alerts, edge refusals and
a verified evidence bundle. Everything runs in this test's namespace, home folder and ports, then stops."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

pytestmark = pytest.mark.integration


def _namespace_env(namespace: str, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "VIGIL_HOME": str(home),
        "VIGIL_NAMESPACE": namespace,
        "VIGIL_SIEM__TAIL_STATE_DIR": str(home / "tail"),
        "COLUMNS": "160",
    }


def _vigil(env: dict[str, str], *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def demo_run(es_namespace: str, redis_namespace: str, tmp_path: Path) -> Iterator[tuple[Any, str, dict[str, str]]]:
    assert es_namespace == redis_namespace
    env = _namespace_env(es_namespace, tmp_path / "home")
    summary = tmp_path / "summary.json"
    # The demo listens on 8000-8082 plus the offset: kept below Linux's ephemeral range (32768 and up), where any
    # outgoing connection on the machine may hold the port at the moment the demo binds it.
    offset = random.Random(es_namespace).randrange(20_000, 24_600, 100)
    try:
        done = _vigil(
            env,
            "demo", "--users", "60", "--clients", "6", "--requests-per-user", "2", "--port-offset", str(offset),
            "--summary", str(summary),
            timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
        yield json.loads(summary.read_text()), done.stdout, {**env, "DEMO_PORT_OFFSET": str(offset)}
    finally:
        stopped = _vigil(env, "demo", "down", timeout=120)
        assert stopped.returncode == 0, stopped.stderr


def test_the_demo_tells_the_whole_story(demo_run: tuple[Any, str, dict[str, str]], es: Elasticsearch) -> None:
    result, out, env = demo_run

    # The edge: real verifications and the attack storyline's refusals, each with the verifier's latency.
    reasons = {(row["outcome"], row["reason"]): row for row in result["edge"]}
    assert reasons[("success", "ok")]["count"] > 50
    for refused in ("alg_not_allowed", "bad_signature", "unknown_kid", "revoked", "insufficient_scope"):
        assert reasons[("failure", refused)]["count"] >= 1, refused
    assert all(row["p99_us"] is not None and row["p99_us"] > 0 for row in result["edge"])

    # The analysts: the storyline's alerts, one shown in full.
    rules = {alert["rule"] for alert in result["alerts"]}
    for expected in (
        "Vulnerability Scanner User Agent",
        "Attack Payload Reached The Code",
        "Token Forgery Attempts From One Source",
        "Edge Token With A Disallowed Algorithm (Alg Confusion)",
        "Credential Stuffing On The Token Endpoint",
        "Revoked Token Replayed",
        "Log source 'exception' went silent",
    ):
        assert expected in rules, (expected, sorted(rules))
    assert result["featured_alert"]["rule_title"] == "Attack Payload Reached The Code"

    # One request id joins the edge decision, nginx's and the storefront's access lines and the exception.
    request_id = result["featured_alert"]["group_key"].removeprefix("http.request.id=")
    found = es.search(
        index=f"{env['VIGIL_NAMESPACE']}-logs-*", query={"term": {"http.request.id": request_id}}, size=20
    )
    datasets = sorted(hit["_source"]["event"]["dataset"] for hit in found["hits"]["hits"])
    assert datasets == ["access", "access", "auth", "exception"], datasets

    # The auditors: a status per control and a bundle that verifies offline, also from the CLI.
    assert {c["verdict"] for c in result["compliance"]} <= {"pass", "fail", "not-applicable"}
    assert len(result["compliance"]) >= 5
    assert result["bundle"]["ok"] is True
    assert result["bundle"]["items"] >= 1
    verified = _vigil(env, "evidence", "verify", result["bundle"]["path"], timeout=60)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK:")

    # The canaries went the whole way (token, nginx + edge, ingest) as both tiers' clients while the services ran.
    assert result["canary"]["success_rate"] == 1.0
    assert sorted(t["tier"] for t in result["canary"]["tiers"]) == ["premium", "standard"]

    # The premium tier's upstream was slow during the storyline: its SLA, and only its, was missed.
    sla = {s["tier"]: s for s in result["sla"]}
    assert sla["premium"]["status"] == "missed", sla["premium"]
    assert sla["premium"]["latency_met"] is False, sla["premium"]
    assert sla["standard"]["status"] == "met", sla["standard"]
    verdicts = {c["control"]: c for c in result["compliance"]}
    for control in ("CC7.2", "A.8.16", "A1.2"):
        reason = verdicts[control]["reason"]
        assert "availability.sla_attained: tier premium (acme-corp): SLA missed:" in reason, (reason, sla["premium"])
        assert "latency: " in reason, reason
        assert "tier standard" not in reason, reason
    assert verdicts["A1.2"]["verdict"] == "fail"
    assert "1 SLA finding(s)" in out

    # Each client's signed transparency report: acme-corp's names its tier's SLA miss (one finding), globex's none,
    # neither names the other client or its tier, and both verify offline with the published key.
    reports = {r["client"]: r for r in result["reports"]}
    assert sorted(reports) == ["acme-corp", "globex"]
    assert all(r["ok"] for r in reports.values()), reports
    acme, globex = reports["acme-corp"], reports["globex"]
    (acme_sla,) = acme["sla"]
    assert [f for f in acme["findings"] if f.startswith("SLA")] == [
        f"SLA missed on tier premium: {'; '.join(acme_sla['misses'])}"
    ]
    assert any(miss.startswith("latency: ") for miss in acme_sla["misses"]), acme_sla
    assert [(s["tier"], s["status"]) for s in acme["sla"]] == [("premium", "missed")]
    assert [(s["tier"], s["status"]) for s in globex["sla"]] == [("standard", "met")]
    assert not [f for f in globex["findings"] if f.startswith("SLA")]
    for mine, other, other_tier in ((acme, "globex", "standard"), (globex, "acme-corp", "premium")):
        with zipfile.ZipFile(mine["path"]) as package:
            text = package.read("report.json").decode()
        assert other not in text
        assert f'"{other_tier}"' not in text
    report_check = _vigil(env, "evidence", "verify", acme["path"], timeout=60)
    assert report_check.returncode == 0, report_check.stdout + report_check.stderr
    assert report_check.stdout.startswith("OK: transparency report for client acme-corp")

    # The printed views say the same and leave the URLs behind.
    for text in ("EDGE", "ANALYSTS", "AUDITORS", "CLIENTS", "VERIFIED", "vigil demo down"):
        assert text in out

    # Every HTTP service answers health, readiness and Prometheus scrapes.
    offset = int(env["DEMO_PORT_OFFSET"])
    for port in (8000 + offset, 8081 + offset, 8082 + offset):
        for probe in ("/healthz", "/readyz"):
            assert httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=10).status_code == 200, (port, probe)
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert scraped.status_code == 200
        assert "# TYPE" in scraped.text
