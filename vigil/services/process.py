"""Pid files, port probes and waiting: the process plumbing shared by the local services."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path


def read_pid(pidfile: Path) -> int | None:
    """The pid recorded in `pidfile` if that process is still alive."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


def terminate(pid: int, grace: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if the process outlives `grace` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    if not wait_until(gone, grace):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        wait_until(gone, 5.0)


def kill(pid: int) -> None:
    """SIGKILL: the process gets no chance to flush or say goodbye (a crash, for drills and fault tests)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
