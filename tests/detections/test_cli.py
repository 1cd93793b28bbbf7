"""`vigil rules ...` and `vigil alerts ...` end to end, and sigma-cli from the same environment."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detections import Detections, DetectionsSettings, load_rules
from tests.detections.conftest import Sender, alerts_of, later
from tests.detections.test_loader import HOSTILE
from vigil.commands import app

pytestmark = pytest.mark.integration

SCANNER = "ac205f40-caa4-4100-a77d-592b520fcf38"


def test_sigma_cli_still_works_from_the_venv() -> None:
    sigma = Path(sys.executable).with_name("sigma")
    proc = subprocess.run([str(sigma), "list", "targets"], capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "lucene" in proc.stdout


def test_rules_check_reports_each_bad_rule_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "redos.yml").write_text(HOSTILE["redos.yml"])
    (tmp_path / "bomb.yml").write_text(HOSTILE["bomb.yml"])
    result = CliRunner().invoke(app, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 2
    assert any("unsafe_regex" in line for line in lines)
    assert any("unsafe_yaml" in line for line in lines)
    bundled = len(load_rules(DetectionsSettings()).rules)
    assert f"{bundled} rules loaded, 2 rejected" in result.output


def test_rules_convert_prints_lucene() -> None:
    result = CliRunner().invoke(app, ["rules", "convert"])
    assert result.exit_code == 0
    assert f"{SCANNER}\tVulnerability Scanner User Agent\tuser_agent.original.caseless:(*sqlmap*" in result.output


def test_alerts_commands_triage_through_the_service(
    sender: Sender, make_detections: Callable[..., Detections], det_prefix: str
) -> None:
    sender.send(
        "json", [{"method": "GET", "path": "/", "status": 404, "remote_ip": "192.0.2.3", "user_agent": "nikto"}]
    )
    det = make_detections()
    det.run_cycle(later())
    alert_id = alerts_of(det, SCANNER)[0].id
    env = {"VIGIL_NAMESPACE": det_prefix}
    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list", "--status", "new"], env=env)
    assert listed.exit_code == 0
    assert alert_id in listed.output
    assert "1 of 1" in listed.output
    shown = runner.invoke(app, ["alerts", "show", alert_id], env=env)
    assert shown.exit_code == 0
    assert '"user_agent"' in shown.output
    acked = runner.invoke(app, ["alerts", "ack", alert_id, "--note", "mine", "--actor", "ana"], env=env)
    assert acked.exit_code == 0
    assert f"{alert_id}: acknowledged" in acked.output
    resolved = runner.invoke(app, ["alerts", "resolve", alert_id, "--verdict", "benign", "--actor", "ana"], env=env)
    assert resolved.exit_code == 0
    final = det.alert(alert_id)
    assert final.status.value == "resolved"
    assert [t.actor for t in final.transitions] == ["ana", "ana"]
    bad = runner.invoke(app, ["alerts", "resolve", alert_id, "--verdict", "benign"], env=env)
    assert bad.exit_code != 0
    missing = runner.invoke(app, ["alerts", "show", "no-such-alert"], env=env)
    assert missing.exit_code != 0


def test_cli_errors_are_one_line_without_traceback(det_prefix: str) -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("vigil")), "alerts", "show", "no-such-alert"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"VIGIL_NAMESPACE": det_prefix, "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "vigil: error: no alert with id 'no-such-alert'"
