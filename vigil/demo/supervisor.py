"""Background processes of the demo: started detached with pid files and logs under `.vigil/demo/`.

`vigil demo down` (or a second `vigil demo`) finds them again through the pid files, so nothing is left
running by accident and a run always starts from a known state.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from vigil.errors import ServiceError
from vigil.services.process import read_pid, terminate, wait_until


class Supervisor:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.pids = root / "pids"
        self.logs = root / "logs"

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        ready_url: str | None = None,
        timeout: float = 60.0,
    ) -> int:
        """Start `argv` unless it already runs; wait until `ready_url` answers 2xx."""
        self.pids.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        pidfile = self.pids / f"{name}.pid"
        pid = read_pid(pidfile)
        if pid is None:
            log = (self.logs / f"{name}.log").open("ab")
            proc = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
            pidfile.write_text(str(proc.pid))
            pid = proc.pid
        if ready_url is not None and not wait_until(lambda: _answers(ready_url), timeout, 0.2):
            raise ServiceError(
                f"{name} did not become ready at {ready_url} in {timeout:.0f}s; see {self.logs}/{name}.log"
            )
        return pid

    def stop(self, name: str) -> None:
        pidfile = self.pids / f"{name}.pid"
        pid = read_pid(pidfile)
        if pid is not None:
            terminate(pid, grace=15.0)
        pidfile.unlink(missing_ok=True)

    def stop_all(self) -> list[str]:
        if not self.pids.is_dir():
            return []
        names = sorted(p.stem for p in self.pids.glob("*.pid"))
        for name in names:
            self.stop(name)
        return names

    def running(self) -> dict[str, int]:
        if not self.pids.is_dir():
            return {}
        found = {p.stem: read_pid(p) for p in sorted(self.pids.glob("*.pid"))}
        return {name: pid for name, pid in found.items() if pid is not None}


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).is_success
    except httpx.HTTPError:
        return False
