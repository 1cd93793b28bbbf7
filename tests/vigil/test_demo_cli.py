"""`vigil demo` answers bad input and an idle state with one line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _vigil(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIGIL_HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "vigil.cli", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_down_with_nothing_running_says_so(tmp_path: Path) -> None:
    done = _vigil(tmp_path, "demo", "down")
    assert done.returncode == 0
    assert done.stdout.strip() == "nothing was running"


def test_out_of_range_options_are_refused_before_anything_starts(tmp_path: Path) -> None:
    for args in (["--users", "0"], ["--port-offset", "-1"], ["--concurrency", "100000"]):
        done = _vigil(tmp_path, "demo", *args)
        assert done.returncode == 2, args
        assert "Traceback" not in done.stderr
        assert "Invalid value" in done.stderr
    assert not (tmp_path / "demo").exists()
