"""`vigil compliance ...` answers broken input with one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

VIGIL = str(Path(sys.executable).with_name("vigil"))


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VIGIL, "compliance", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("publish", "--from", "2026-13-01", "--to", "2026-01-01"), "neither a date"),
        (("status", "--from", "2026-03-01"), "give both --from and --to"),
        (("oscal", "--from", "2026-03-01T00:00:00", "--to", "2026-03-02"), "has no time zone"),
    ],
)
def test_bad_periods_are_one_line_errors(args: tuple[str, ...], message: str) -> None:
    proc = _run(*args)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("vigil: error: ")
    assert message in lines[0]
    assert "Traceback" not in proc.stderr


def test_an_unknown_control_in_scope_is_a_one_line_error() -> None:
    proc = _run("catalog", VIGIL_COMPLIANCE__SCOPE='["CC6.1","CC9.9"]')
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip().splitlines()[0]], "exactly one line expected"
    assert "unknown control(s) CC9.9" in proc.stderr


def test_catalog_prints_every_control_in_scope() -> None:
    proc = _run("catalog", VIGIL_COMPLIANCE__SCOPE='["A.8.15","CC6.1"]')
    assert proc.returncode == 0, proc.stderr
    ids = [line.split()[0] for line in proc.stdout.splitlines() if not line.startswith(" ")]
    assert ids == ["CC6.1", "A.8.15"]
