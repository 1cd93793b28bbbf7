"""Structured JSON logs and request ids shared by every Vigil service.

The request id joins an edge decision, the access log line and an exception: nginx forwards its `$request_id`
as `X-Request-ID`; a service keeps a well-formed incoming id and mints one otherwise.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-request-id"
_WELL_FORMED = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """Send every record to stderr as one JSON object carrying the current request id."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "@timestamp", "levelname": "log.level", "name": "log.logger"},
        )
    )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryValueRedaction) for f in access.filters):
        access.addFilter(QueryValueRedaction())


def redacted_target(target: str) -> str:
    """A request target with every query value replaced: a secret sent in a query string never reaches a log.

    All values, not a list of secret-looking names: `client_secret`, `access_token`, `code`, `api_key`, an
    assertion or a password under a name nobody thought of are all just values here.
    """
    path, separator, query = target.partition("?")
    if not separator:
        return target
    names = (pair.partition("=")[0] for pair in query.split("&") if pair)
    return path + "?" + "&".join(f"{name}=[redacted]" for name in names)


class QueryValueRedaction(logging.Filter):
    """On uvicorn's access logger, whose records carry (client, method, target, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (args[0], args[1], redacted_target(args[2]), args[3], args[4])
        return True


class RequestIdMiddleware:
    """Pure ASGI middleware: cheap enough for the edge's hot path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == REQUEST_ID_HEADER), b"")
        rid = incoming.decode() if _WELL_FORMED.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
