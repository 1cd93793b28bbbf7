"""The background loop behind the JWKS refresher, the revocation follower and the decision drain."""

from __future__ import annotations

import threading

from edgeauth.background import BackgroundLoop


def test_loop_runs_its_step_until_stopped_and_honours_the_returned_delay() -> None:
    calls: list[int] = []
    third = threading.Event()

    def step() -> float:
        calls.append(1)
        if len(calls) == 3:
            third.set()
            return 3600.0  # the next run would be an hour away: stop() must not wait for it
        return 0.0

    loop = BackgroundLoop("test-loop", step)
    loop.start()
    assert third.wait(5)
    assert loop.running
    loop.stop(timeout=5)
    assert not loop.running
    assert len(calls) == 3


def test_first_delay_defers_the_first_step() -> None:
    ran = threading.Event()

    def step() -> float:
        ran.set()
        return 3600.0

    loop = BackgroundLoop("test-delay", step, first_delay=3600.0)
    loop.start()
    loop.stop(timeout=5)
    assert not ran.is_set()
