"""Third-party programs the benchmarks run beside ours, built from the Go module proxy at a pinned version.

Nothing of theirs is committed: `go install module@version` fetches the module (checked against the Go checksum
database) and the binary is cached under `<VIGIL_HOME>/tools/<name>-<version>/`, so only the first run pays for
the build (oauth2-proxy: a few minutes). Without Go, or when the build fails, `ensure` says why and the caller
records the row as not run; the suite never fails for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

BUILD_TIMEOUT = 900.0


@dataclass(frozen=True)
class GoTool:
    name: str
    module: str
    version: str

    def binary(self, home: Path) -> Path:
        return home / "tools" / f"{self.name}-{self.version}" / self.name


OAUTH2_PROXY = GoTool("oauth2-proxy", "github.com/oauth2-proxy/oauth2-proxy/v7", "v7.15.6")
VEGETA = GoTool("vegeta", "github.com/tsenart/vegeta/v12", "v12.13.0")


def ensure(tool: GoTool, home: Path) -> tuple[Path | None, str]:
    """The tool's binary, building it once if Go is here; else None and the reason."""
    binary = tool.binary(home)
    if binary.is_file():
        return binary, "cached"
    go = shutil.which("go")
    if go is None:
        return None, "Go is not installed"
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(binary.parent.resolve()), "GOFLAGS": "-buildvcs=false"}
    try:
        done = subprocess.run(
            [go, "install", f"{tool.module}@{tool.version}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            cwd=binary.parent,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"go install {tool.name} took longer than {BUILD_TIMEOUT:.0f} s"
    if done.returncode != 0 or not binary.is_file():
        return None, f"go install {tool.name} failed: {done.stderr.strip().splitlines()[-1:] or ['?']}"
    return binary, "built"
