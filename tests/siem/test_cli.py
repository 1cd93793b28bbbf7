"""siem's commands through the `vigil` command line: one line on success, one line on error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from siem import Pipeline
from tests.siem.conftest import count_docs, nginx_line
from vigil.commands import app, main

pytestmark = pytest.mark.integration


def env(prefix: str, tmp_path: Path) -> dict[str, str]:
    return {"VIGIL_NAMESPACE": prefix, "VIGIL_SIEM__TAIL_STATE_DIR": str(tmp_path / "state")}


def test_ingest_file_then_status_then_dead_letters(pipeline: Pipeline, es: Elasticsearch, tmp_path: Path) -> None:
    runner = CliRunner()
    variables = env(pipeline.settings.namespace, tmp_path)
    log = tmp_path / "access.log"
    log.write_text("\n".join([nginx_line(1), nginx_line(2), "not a log line"]) + "\n", encoding="utf-8")
    done = runner.invoke(app, ["ingest", "file", str(log), "--format", "nginx", "--allow-dead-letter"], env=variables)
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "queued 3 records (0 rotations, 0 truncations)"
    assert "1 of them will go to the dead letter" in done.stderr
    again = runner.invoke(app, ["ingest", "file", str(log), "--format", "nginx"], env=variables)
    assert again.stdout.strip().startswith("queued 0 records")

    status = json.loads(runner.invoke(app, ["pipeline", "status", "--json"], env=variables).stdout)
    assert (status["received"], status["queue_depth"]) == (3, 3)
    pipeline.drain()
    assert count_docs(es, pipeline.layout.alias) == 2

    listed = runner.invoke(app, ["dlq", "list", "--json"], env=variables)
    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(d["original"], d["error_type"]) for d in letters] == [("not a log line", "parse_error")]
    replayed = runner.invoke(app, ["dlq", "replay", letters[0]["id"]], env=variables)
    assert replayed.stdout.strip() == "replayed 1 dead letters"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["ingest", "file", "/nonexistent/access.log", "--format", "nginx"],
            "cannot read /nonexistent/access.log: No such file or directory",
        ),
        (["dlq", "replay", "no-such-id"], "no unreplayed dead letter with id 'no-such-id'"),
    ],
)
def test_errors_are_one_line(
    pipeline: Pipeline,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    for name, value in env(pipeline.settings.namespace, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("sys.argv", ["vigil", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert capsys.readouterr().err.strip() == f"vigil: error: {message}"


def test_ingest_file_says_what_goes_to_the_dead_letter_and_fails(
    pipeline: Pipeline,
    es: Elasticsearch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 13, item 10: a log of the wrong shape is never reported as a plain success."""
    for name, value in env(pipeline.settings.namespace, tmp_path).items():
        monkeypatch.setenv(name, value)
    log = tmp_path / "exceptions.json"
    nested = {"time": "2026-11-29T05:00:00Z", "exception": {"class": "KeyError", "message": "k", "backtrace": ["x"]}}
    broken = {"time": "2026-11-29T05:00:00Z", "exception": {"class": ["KeyError"]}}
    log.write_text("\n".join(json.dumps(r) for r in [nested, nested, broken, broken, broken]) + "\n", encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["vigil", "ingest", "file", str(log), "--format", "exception"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 3
    out, err = capsys.readouterr()
    assert out.strip() == "queued 5 records (0 rotations, 0 truncations)"
    assert "3 of them will go to the dead letter" in err
    assert "3 x exception record field exception.class must be a string, got list" in err
    assert err.strip().endswith("fix the format or pass --allow-dead-letter (see `vigil dlq list`)")
    report = pipeline.drain()
    assert (report.indexed, report.dead_lettered) == (2, 3)  # the forecast is what the workers did
