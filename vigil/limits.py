"""Limits before work: an ASGI middleware that bounds every request body and refuses an anonymous one unread.

FastAPI reads and parses a JSON body before it runs a route's dependencies, so the guard alone came too late: a
300 MB body without a token was read into memory, then answered 401. This middleware runs first:

1. on a token-protected path (`/ingest`, `/detections`, `/evidence/bundles`, `/compliance`, the shipper doors
   `/_bulk`, `/{index}/_bulk`, `/v1/logs`) a request without an `Authorization` header is refused with the guard's
   own 401 and decision record before a byte of its body is read; a header that is present is left for the route's
   guard to verify (with the scopes the route needs);
2. a declared `Content-Length` above the path's limit is a 413, unread;
3. a body without a declared length is counted while it streams: the ingest routes count their own (they read
   the batch chunk by chunk with the same limit), every other body is read here up to its limit, refused with 413
   beyond it, and replayed to the route.

Limits: `VIGIL_MAX_BODY_BYTES` for JSON and form routes (small: 256 KiB by default), `VIGIL_SIEM__MAX_REQUEST_BYTES`
for ingest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request

from edgeauth import VerificationError, Verifier
from edgeauth.edge.http import challenge, request_context
from edgeauth.edge.request import ClientAddress
from vigil.errors import BadRequestError, RequestTooLargeError
from vigil.problems import Problem, ProblemResponse, problem_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths whose every route needs a token (the authorization matrix in tests/test_authorization.py).
PROTECTED_PREFIXES = ("/ingest/", "/detections/", "/evidence/bundles", "/compliance/", "/v1/logs")


def is_ingest(path: str) -> bool:
    """Routes that take batches of records (their own, larger limit, counted by the route while it streams)."""
    return path.startswith("/ingest/") or path == "/v1/logs" or path.endswith("/_bulk")


def is_protected(path: str) -> bool:
    return path.startswith(PROTECTED_PREFIXES) or path.endswith("/_bulk")


class RequestLimits:
    def __init__(self, app: ASGIApp, *, verifier: Verifier, body_bytes: int, ingest_bytes: int) -> None:
        self.app = app
        self.verifier = verifier
        self.clients = ClientAddress(verifier.settings.trusted_proxies)
        self.body_bytes = body_bytes
        self.ingest_bytes = ingest_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = Headers(scope=scope)
        if is_protected(path) and "authorization" not in headers:
            await self._anonymous(scope, receive, send)
            return
        ingest = is_ingest(path)
        limit = self.ingest_bytes if ingest else self.body_bytes
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await _refuse(scope, receive, send, BadRequestError(f"content-length {declared[:32]!r} is not a size"))
                return
            if int(declared) > limit:
                await _refuse(scope, receive, send, _too_large(int(declared), limit))
                return
        if ingest:
            # siem's ingest route streams the batch itself and stops at the same limit.
            await self.app(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body: nothing to answer
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > limit:
                await _refuse(scope, receive, send, _too_large(None, limit))
                return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _anonymous(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The guard's answer to a request without credentials, recorded as its decision would be."""
        request = Request(scope)
        try:
            context = request_context(request, self.clients, request.method, request.url.path)
            self.verifier.verify_authorization(None, (), context=context)
        except VerificationError as exc:
            response = ProblemResponse(
                Problem(
                    exc.status_code,
                    exc.error,
                    exc.description,
                    headers=challenge(exc, self.verifier.settings.realm),
                )
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _too_large(declared: int | None, limit: int) -> RequestTooLargeError:
    size = f"a body of {declared} bytes" if declared is not None else "the body"
    return RequestTooLargeError(f"{size} exceeds this route's {limit}-byte limit")


async def _refuse(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    await ProblemResponse(problem_of(exc))(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body read here once, then whatever the server says next (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
