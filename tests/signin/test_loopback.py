"""The CLI's RFC 8252 loopback redirect: 127.0.0.1 only, a kernel-chosen port, one callback, a bounded wait."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from vigil.signin import CallbackTimeout, LoopbackReceiver


def test_one_callback_is_received_and_strays_are_not(tmp_path: object) -> None:
    with LoopbackReceiver() as receiver:
        assert receiver.redirect_uri == f"http://127.0.0.1:{receiver.port}/callback"
        answers: list[httpx.Response] = []

        def browser() -> None:
            with httpx.Client() as http:
                answers.append(http.get(f"http://127.0.0.1:{receiver.port}/favicon.ico"))
                answers.append(http.get(f"{receiver.redirect_uri}?code=abc&state=xyz&iss=http%3A%2F%2F127.0.0.1"))

        thread = threading.Thread(target=browser)
        thread.start()
        callback = receiver.wait(30)
        thread.join()
    assert (callback.code, callback.state, callback.error) == ("abc", "xyz", None)
    assert [a.status_code for a in answers] == [404, 200]
    assert "return to your terminal" in answers[1].text
    assert answers[1].headers["cache-control"] == "no-store"


def test_an_error_redirect_is_reported() -> None:
    with LoopbackReceiver() as receiver:
        thread = threading.Thread(
            target=lambda: httpx.get(f"{receiver.redirect_uri}?error=access_denied&error_description=no&state=s")
        )
        thread.start()
        callback = receiver.wait(30)
        thread.join()
    assert (callback.error, callback.error_description, callback.code) == ("access_denied", "no", None)


def test_nobody_coming_back_ends_the_wait() -> None:
    with LoopbackReceiver() as receiver:
        started = time.monotonic()
        with pytest.raises(CallbackTimeout, match="vigil login"):
            receiver.wait(0.5)
        assert time.monotonic() - started < 10  # bounded, whatever the load on the machine
    # The port is closed after: nothing listens for a late redirect.
    with pytest.raises(httpx.ConnectError):
        httpx.get(receiver.redirect_uri, timeout=2)
