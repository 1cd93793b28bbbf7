"""RFC 8252 section 7.3: the CLI receives the authorization response on a loopback redirect.

Who calls it: `vigil login`. The listener binds 127.0.0.1 (never a name that could resolve elsewhere, never all
interfaces) on a port the kernel picks, accepts requests until one reaches the callback path, answers it with a
short page and closes. The wait is bounded, and so is the number of stray requests (a browser's favicon fetch,
a port scanner) it will answer with 404 before giving up.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from vigil.signin.errors import CallbackTimeout

CALLBACK_PATH = "/callback"
MAX_STRAY_REQUESTS = 32
MAX_QUERY_CHARS = 8192


@dataclass(frozen=True)
class Callback:
    """The query of the one redirect that came back: a code and state, or an OAuth error."""

    code: str | None
    state: str | None
    error: str | None
    error_description: str | None


class _Handler(BaseHTTPRequestHandler):
    server: _OneShotServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH or len(parts.query) > MAX_QUERY_CHARS:
            self._answer(404, "Not the Vigil sign-in callback.")
            return
        query = {name: values[0] for name, values in parse_qs(parts.query, max_num_fields=16).items()}
        callback = Callback(query.get("code"), query.get("state"), query.get("error"), query.get("error_description"))
        self.server.callback = callback
        if callback.error:
            self._answer(400, f"Sign-in failed: {callback.error}. Return to your terminal.")
        else:
            self._answer(200, "Vigil received your sign-in. You can close this tab and return to your terminal.")

    def _answer(self, status: int, message: str) -> None:
        body = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>Vigil sign-in</title>"
            f"<p>{html.escape(message)}</p></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the query carries the authorization code, which must not reach a terminal or a log."""


class _OneShotServer(HTTPServer):
    callback: Callback | None = None


class LoopbackReceiver:
    """`with LoopbackReceiver() as receiver:` listen on 127.0.0.1:<random>; `receiver.wait(seconds)`."""

    def __init__(self) -> None:
        self._server = _OneShotServer(("127.0.0.1", 0), _Handler)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    def wait(self, seconds: float) -> Callback:
        """The callback, once one request reaches it; `CallbackTimeout` after `seconds` or too many strays."""
        deadline = time.monotonic() + seconds
        for _ in range(MAX_STRAY_REQUESTS):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._server.timeout = left
            self._server.handle_request()
            if self._server.callback is not None:
                return self._server.callback
        raise CallbackTimeout(
            f"no sign-in came back to {self.redirect_uri} within {seconds:.0f} s; run `vigil login` again"
        )

    def close(self) -> None:
        self._server.server_close()

    def __enter__(self) -> LoopbackReceiver:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
