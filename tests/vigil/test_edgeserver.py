"""`vigil edge serve`'s server: workers share the port, and uvicorn never decides who the client is."""

from __future__ import annotations

import os

import pytest

from vigil.edgeserver import DEFAULT_APP, default_workers, listening_socket, worker_config


def test_uvicorn_does_not_rewrite_the_client_address() -> None:
    # edgeauth's TRUSTED_PROXIES decides; uvicorn's proxy-header rewrite would trust any loopback peer.
    config = worker_config(DEFAULT_APP, 128)
    assert config.proxy_headers is False
    assert (config.loop, config.http, config.lifespan) == ("uvloop", "httptools", "on")


def test_workers_bind_one_port_together() -> None:
    first = listening_socket("127.0.0.1", 0, 16, reuse_port=True)
    port = first.getsockname()[1]
    second = listening_socket("127.0.0.1", port, 16, reuse_port=True)
    try:
        assert second.getsockname()[1] == port
        # Without SO_REUSEPORT the port is taken: a second single-worker server cannot start on it by mistake.
        with pytest.raises(OSError, match="in use"):
            listening_socket("127.0.0.1", port, 16, reuse_port=False)
    finally:
        first.close()
        second.close()


def test_one_worker_per_usable_core_by_default() -> None:
    assert default_workers() == len(os.sched_getaffinity(0))
