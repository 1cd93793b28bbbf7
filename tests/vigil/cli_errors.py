"""Running `vigil` as a real process to see what a person sees when a command is refused."""

from __future__ import annotations

import os
import subprocess
import sys


def one_line_error(args: list[str], env: dict[str, str], stdin: str = "") -> str:
    """The refusal's one stderr line, after checking the command failed, printed nothing else and no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "vigil.cli", *args],
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("vigil: error: ")
    assert "unexpected" not in lines[0]
    return lines[0] + proc.stdout
