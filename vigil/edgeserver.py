"""The edge verifier's server: uvicorn (uvloop + httptools), one process per core sharing the port.

`vigil edge serve` execs into this module so the serving processes carry nothing of the CLI. With one worker the
process serves by itself; with N, a small supervisor starts N workers that each bind the port with
`SO_REUSEPORT` (the kernel spreads new connections over their own accept queues, with no shared socket to
contend on) and each keep their own JWKS copy and revocation replica, fed by the same streams. A worker that dies
is started again after a pause; SIGTERM or SIGINT stops them all.

Why uvicorn by default, and when `--server granian` is the better choice: docs/edgeauth.md ("Serving").
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

DEFAULT_APP = "vigil.edge:edge_app_from_environment"
_RESTART_PAUSE = 1.0
_STARTUP_GRACE = 5.0


def default_workers() -> int:
    """One worker per core this process may run on: each is single-threaded on its event loop."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def listening_socket(host: str, port: int, backlog: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def worker_config(app: str, backlog: int) -> uvicorn.Config:
    """uvicorn's settings for one edge worker."""
    import uvicorn  # here, not at import: the supervisor never needs it

    return uvicorn.Config(
        app,
        factory=True,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        backlog=backlog,
        log_level="warning",
        log_config=None,
        access_log=False,
        # The verifier decides who the client is (edgeauth's TRUSTED_PROXIES); uvicorn's own X-Forwarded-For
        # rewrite would trust any loopback peer behind our back, and costs every request.
        proxy_headers=False,
        # Nobody reads these on an auth_request answer; each is work and bytes on every response.
        server_header=False,
        date_header=False,
        # The verifier answers in microseconds; a connection idle this long is a client that went away.
        timeout_keep_alive=30,
    )


def serve_worker(app: str, host: str, port: int, backlog: int, *, reuse_port: bool) -> None:
    """One serving process: its own socket on the shared port, its own event loop and verifier state."""
    import uvicorn

    sock = listening_socket(host, port, backlog, reuse_port=reuse_port)
    uvicorn.Server(worker_config(app, backlog)).run(sockets=[sock])


class Supervisor:
    """Starts `workers` worker processes and keeps them running until told to stop."""

    def __init__(self, argv: Sequence[str], workers: int) -> None:
        self._argv = list(argv)
        self._workers = workers
        self._children: list[tuple[subprocess.Popen[bytes], float]] = []
        self._stopping = False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self._children = [self._spawn() for _ in range(self._workers)]
        status = 0
        while not self._stopping:
            for i, (child, started) in enumerate(self._children):
                if child.poll() is None or self._stopping:
                    continue
                if time.monotonic() - started < _STARTUP_GRACE:
                    # Dying right away (port taken, bad settings) would only repeat: give up, loudly.
                    print(f"edge worker {child.pid} failed at start ({child.returncode}); stopping", file=sys.stderr)
                    self._stopping, status = True, 1
                    break
                print(f"edge worker {child.pid} exited with {child.returncode}; starting another", file=sys.stderr)
                time.sleep(_RESTART_PAUSE)
                self._children[i] = self._spawn()
            time.sleep(0.5)
        for child, _ in self._children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 15
        for child, _ in self._children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        return status

    def _spawn(self) -> tuple[subprocess.Popen[bytes], float]:
        command = [sys.executable, "-m", "vigil.edgeserver", "--worker", *self._argv]
        return subprocess.Popen(command), time.monotonic()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True


def granian_argv(app: str, host: str, port: int, workers: int, backlog: int) -> list[str] | None:
    """granian's command line for the same app (`--server granian`); None when granian is not installed."""
    binary = shutil.which("granian") or str(Path(sys.executable).with_name("granian"))
    if not Path(binary).is_file():
        return None
    return [
        binary,
        *("--interface", "asgi", "--factory", "--host", host, "--port", str(port), "--workers", str(workers)),
        *("--loop", "uvloop", "--no-access-log", "--log-level", "warning", "--backlog", str(backlog), app),
    ]


def exec_server(app: str, host: str, port: int, workers: int, backlog: int, server: str = "uvicorn") -> None:
    """Replace the calling process (the CLI) by the server, so no CLI module stays resident beside the workers."""
    if server == "granian":
        argv = granian_argv(app, host, port, workers, backlog)
        if argv is None:
            raise SystemExit("granian is not installed here: `pip install granian`, or use --server uvicorn")
        os.execv(argv[0], argv)  # noqa: S606 - the granian next to this interpreter
    argv = ["--app", app, "--host", host, "--port", str(port), "--workers", str(workers), "--backlog", str(backlog)]
    os.execv(sys.executable, [sys.executable, "-m", "vigil.edgeserver", *argv])  # noqa: S606 - our own module


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vigil.edgeserver", description=__doc__)
    parser.add_argument("--app", default=DEFAULT_APP, help="ASGI app factory, module:function")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker or args.workers == 1:
        serve_worker(args.app, args.host, args.port, args.backlog, reuse_port=args.worker)
        return 0
    if not hasattr(socket, "SO_REUSEPORT"):
        parser.error("several workers need SO_REUSEPORT (Linux, BSD); use --workers 1 here")
    forwarded = ["--app", args.app, "--host", args.host, "--port", str(args.port), "--backlog", str(args.backlog)]
    return Supervisor(forwarded, args.workers).run()


if __name__ == "__main__":
    sys.exit(main())
