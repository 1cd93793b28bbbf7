"""siem's commands through the real `vigil` entry point: one line on success, one line on error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from siem import Pipeline
from tests.siem.conftest import count_docs, nginx_line

pytestmark = pytest.mark.integration


def vigil(prefix: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIGIL_SIEM__PREFIX": prefix, "VIGIL_SIEM__TAIL_STATE_DIR": str(tmp_path / "state")}
    return subprocess.run(
        [str(Path(sys.executable).with_name("vigil")), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_ingest_file_then_status_then_dead_letters(pipeline: Pipeline, es: Elasticsearch, tmp_path: Path) -> None:
    prefix = pipeline.settings.prefix
    log = tmp_path / "access.log"
    log.write_text("\n".join([nginx_line(1), nginx_line(2), "not a log line"]) + "\n", encoding="utf-8")
    done = vigil(prefix, tmp_path, "ingest", "file", str(log), "--format", "nginx")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "queued 3 records (0 rotations, 0 truncations)"
    again = vigil(prefix, tmp_path, "ingest", "file", str(log), "--format", "nginx")
    assert again.stdout.strip().startswith("queued 0 records")

    status = json.loads(vigil(prefix, tmp_path, "pipeline", "status", "--json").stdout)
    assert (status["received"], status["queue_depth"]) == (3, 3)
    pipeline.drain()
    assert count_docs(es, pipeline.layout.alias) == 2

    listed = vigil(prefix, tmp_path, "dlq", "list", "--json")
    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(d["original"], d["error_type"]) for d in letters] == [("not a log line", "parse_error")]
    replayed = vigil(prefix, tmp_path, "dlq", "replay", letters[0]["id"])
    assert replayed.stdout.strip() == "replayed 1 dead letters"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("ingest", "file", "/nonexistent/access.log", "--format", "nginx"),
            "cannot read /nonexistent/access.log: No such file or directory",
        ),
        (("dlq", "replay", "no-such-id"), "no unreplayed dead letter with id 'no-such-id'"),
    ],
)
def test_errors_are_one_line(pipeline: Pipeline, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = vigil(pipeline.settings.prefix, tmp_path, *args)
    assert done.returncode == 1
    assert done.stderr.strip() == f"vigil: error: {message}"
