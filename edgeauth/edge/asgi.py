"""`GET /verify` as a bare ASGI application: nothing on the request path but the decision.

No framework, routing table, dependency injection or model validation: the headers are read in one pass over
the raw ASGI list, the original method and path are normalised once per distinct pair (cached), and a verified
token's `X-Auth-*` answer comes ready-made from the verifier's cache. `EdgeApp` is the whole standalone edge
process (`vigil edge serve`): this endpoint, `/healthz`, `/readyz`, `/metrics` and the lifespan that starts the
runtime's background parts.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edgeauth.edge.request import ClientAddress, normalized_method, normalized_path
from edgeauth.edge.runtime import EdgeRuntime
from edgeauth.edge.verifier import RequestContext, Verifier
from edgeauth.errors import VerificationError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_EMPTY_BODY: Message = {"type": "http.response.body", "body": b""}
_ZERO_LENGTH = [(b"content-length", b"0")]


def refusal_body(exc: VerificationError) -> bytes:
    return json.dumps({"error": exc.error, "error_description": exc.description, "reason": exc.reason}).encode()


class VerifyEndpoint:
    """`GET /verify` for reverse proxies (nginx `auth_request`, Envoy `ext_authz`, Traefik `forwardAuth`).

    The original request is read from `X-Original-Method` / `X-Original-URI` (Traefik: `X-Forwarded-Method` /
    `X-Forwarded-Uri`); Envoy's HTTP `ext_authz` instead sends the original method to `/verify` + the original
    path. Scopes come from the settings' rules by method and path prefix. Mount it at `path` (any method).
    """

    def __init__(self, verifier: Verifier, *, path: str = "/verify") -> None:
        self.verifier = verifier
        self.path = path
        settings = verifier.settings
        self._realm = settings.realm
        self._clients = ClientAddress(settings.trusted_proxies)
        # Proxied requests repeat a small set of (method, URI) pairs; each is normalised and matched once.
        self._route = lru_cache(maxsize=4096)(self._resolve)

    def _resolve(self, method: str, uri: str) -> tuple[str, str, tuple[str, ...]]:
        method, path = normalized_method(method), normalized_path(uri)
        return method, path, self.verifier.settings.scopes_for(method, path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = method = uri = real_ip = forwarded_for = request_id = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"x-original-uri" or (name == b"x-forwarded-uri" and uri is None):
                uri = value.decode("latin-1")
            elif name == b"x-original-method" or (name == b"x-forwarded-method" and method is None):
                method = value.decode("latin-1")
            elif name == b"x-request-id":
                request_id = value.decode("latin-1")
            elif name == b"x-real-ip":
                real_ip = value.decode("latin-1")
            elif name == b"x-forwarded-for":
                forwarded_for = value.decode("latin-1")
        client = scope.get("client")
        peer = client[0] if client else None
        if self._clients.trusts_anyone:
            peer = self._clients.resolve(peer, real_ip, forwarded_for)
        scopes: tuple[str, ...] = ()
        try:
            # Envoy: "/verify" + the original path, and the original method as the request's own.
            suffix = scope["path"][len(self.path) :]
            method, path, scopes = self._route(scope["method"] if method is None else method, uri or suffix or "/")
        except VerificationError as exc:
            self.verifier.refused(exc, RequestContext(peer, method, uri, request_id))
            await self._refuse(send, exc, scopes)
            return
        try:
            entry = self.verifier.admit(authorization, scopes, context=RequestContext(peer, method, path, request_id))
        except VerificationError as exc:
            await self._refuse(send, exc, scopes)
            return
        await send({"type": "http.response.start", "status": 200, "headers": entry.identity_headers + _ZERO_LENGTH})
        await send(_EMPTY_BODY)

    async def _refuse(self, send: Send, exc: VerificationError, scopes: tuple[str, ...]) -> None:
        body = refusal_body(exc)
        challenge = exc.www_authenticate(self._realm, " ".join(scopes) or None)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", challenge.encode()),
        ]
        await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class EdgeApp:
    """The standalone edge verifier: `/verify[/...]`, `/healthz` = `/readyz` and `/metrics`; 404 otherwise.

    Healthy means keys and revocations are fresh enough: a stale verifier leaves the load balancer's pool.
    """

    def __init__(self, runtime: EdgeRuntime, *, path: str = "/verify") -> None:
        self.runtime = runtime
        self.verify = VerifyEndpoint(runtime.verifier, path=path)
        self._path, self._prefix = path, path + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            if path == self._path or path.startswith(self._prefix):
                await self.verify(scope, receive, send)
            elif path in ("/healthz", "/readyz"):
                await self._health(send)
            elif path == "/metrics":
                await _respond(send, 200, generate_latest(), CONTENT_TYPE_LATEST)
            else:
                await _respond(send, 404, b'{"error":"not_found"}', "application/json")
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _health(self, send: Send) -> None:
        staleness = self.runtime.verifier.state_staleness()
        fresh = staleness <= self.runtime.verifier.settings.max_staleness
        body = json.dumps({"status": "ok" if fresh else "stale", "staleness_seconds": min(staleness, 1e9)})
        await _respond(send, 200 if fresh else 503, body.encode(), "application/json")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.runtime.start()
                except Exception as exc:  # the server reports it and exits; nothing would serve stale state
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                # Everything built so far (modules, settings, keys) lives as long as the process: moved out of the
                # collector's reach, a full collection no longer walks it, which shortens the pauses in the tail.
                gc.collect()
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.runtime.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
