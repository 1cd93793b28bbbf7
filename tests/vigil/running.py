"""A default Vigil run in subprocesses (`vigil serve`, `vigil worker`, optionally `vigil edge serve`) under one
scratch namespace, every process logging to its own file, so tests see what an operator would see."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
KEK = "running-vigil-test-kek"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], bool], what: str, deadline: float = 60.0, every: float = 0.1) -> None:
    """Poll until `condition` holds; the deadline only bounds a hung run, nothing asserts on time."""
    stop = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > stop:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(every)


def namespace_env(namespace: str, home: Path) -> dict[str, str]:
    """Every name a Vigil process creates (Redis keys, indices, Celery keys) under `namespace`."""
    return {
        **os.environ,
        "VIGIL_HOME": str(home),
        "VIGIL_NAMESPACE": namespace,
        "VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY": KEK,
        "VIGIL_SIEM__PUMP_SECONDS": "1",
    }


class RunningVigil:
    """Processes started with `start_*`, each logging (stdout and stderr) to `<logs>/<name>.log`."""

    def __init__(self, namespace: str, home: Path, **extra_env: str) -> None:
        self.namespace = namespace
        self.home = home
        self.logs = home / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {**namespace_env(namespace, home), **extra_env}
        self._procs: list[subprocess.Popen[bytes]] = []
        self._apps: dict[int, subprocess.Popen[bytes]] = {}
        self._vigil = str(Path(sys.executable).with_name("vigil"))

    def _spawn(self, name: str, args: list[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [self._vigil, *args],
            env=dict(env or self.env),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it takes the worker's pool children too
        )
        self._procs.append(proc)
        return proc

    def _ready(self, url: str, proc: subprocess.Popen[bytes]) -> None:
        def answers() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"{proc.args!r} exited with {proc.returncode}; see {self.logs}")
            try:
                return httpx.get(url, timeout=1).status_code < 500
            except httpx.TransportError:
                return False

        wait_for(answers, f"{url} to answer", deadline=90)

    def start_app(self, port: int | None = None, **env: str) -> str:
        port = port or free_port()
        proc = self._spawn(f"app-{port}", ["serve", "--port", str(port)], {**self.env, **env})
        self._apps[port] = proc
        url = f"http://127.0.0.1:{port}"
        self._ready(url + "/healthz", proc)
        return url

    def crash_app(self, port: int) -> None:
        """SIGKILL the app replica on `port` (a host crash: no shutdown, connections cut)."""
        proc = self._apps.pop(port)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def start_edge(self, **env: str) -> str:
        port = free_port()
        proc = self._spawn(f"edge-{port}", ["edge", "serve", "--port", str(port)], {**self.env, **env})
        url = f"http://127.0.0.1:{port}"
        self._ready(url + "/healthz", proc)
        return url

    def start_worker(self, *, detections: bool = True) -> None:
        """`vigil worker`; without `detections` no detection cycle runs, for a test that runs its own."""
        flag = [] if detections else ["--no-detections"]
        self._spawn("worker", ["worker", "--concurrency", "1", "--loglevel", "WARNING", *flag])

    def stop(self) -> None:
        for proc in self._procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for proc in self._procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self._procs.clear()

    def log_text(self) -> str:
        """Every log this run produced (its processes' output and anything else written under its home)."""
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(self.home.rglob("*"))
            if path.is_file() and path.suffix in (".log", ".txt", ".out", ".err")
        )
