"""HTTP adapters over the verifier: the `Guard` (FastAPI dependency), an ASGI middleware and `GET /verify`.

Only this module knows about HTTP: refusals become 401 (403 for a missing scope) with an RFC 6750
`WWW-Authenticate` challenge; the domain raises `VerificationError`s and never `HTTPException`.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import APIRouter, HTTPException, Request, Response

from edgeauth.edge.verifier import RequestContext, Verifier
from edgeauth.errors import VerificationError
from edgeauth.models import Principal

_ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def header_value(value: str) -> str:
    """Percent-escape anything that is not printable ASCII, so a claim can never split or break a header."""
    if value.isascii() and value.isprintable() and "%" not in value:
        return value
    return quote(value, safe=_HEADER_SAFE)


def normalized_path(uri: str) -> str:
    """The decoded, dot-segment-free path of a request URI, as scope rules match it."""
    # Origin-form ("/a/b?q") is cut by hand: urlsplit would read "//host/a" as a network location.
    raw = uri.split("?", 1)[0].split("#", 1)[0] if uri.startswith("/") else urlsplit(uri).path
    return _normalized(raw)


@lru_cache(maxsize=4096)
def _normalized(raw: str) -> str:
    # Proxied paths repeat endlessly; the query string is cut off first so it cannot flood this cache.
    path = unquote(raw or "/")
    normal = posixpath.normpath("/" + path.lstrip("/"))
    return "/" + normal.lstrip("/") + ("/" if path.endswith("/") and normal != "/" else "")


def challenge(exc: VerificationError, realm: str, scopes: tuple[str, ...] = ()) -> dict[str, str]:
    return {"WWW-Authenticate": exc.www_authenticate(realm, " ".join(scopes) or None)}


def error_body(exc: VerificationError) -> dict[str, str]:
    return {"error": exc.error, "error_description": exc.description, "reason": exc.reason}


def _context(request: Request, method: str, path: str) -> RequestContext:
    client = request.client.host if request.client else None
    return RequestContext(
        source_ip=request.headers.get("x-real-ip") or client,
        method=method,
        path=path,
        request_id=request.headers.get("x-request-id"),
    )


class Guard:
    """FastAPI adapter over a `Verifier`: `Depends(guard.require("alerts:read"))` yields the `Principal`."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    def require(self, *scopes: str) -> Callable[..., Principal]:
        verifier = self.verifier
        realm = verifier.settings.realm

        def require_scopes(request: Request) -> Principal:
            try:
                context = _context(request, request.method, request.url.path)
                return verifier.verify_authorization(request.headers.get("authorization"), scopes, context=context)
            except VerificationError as exc:
                raise HTTPException(
                    exc.status_code, detail=error_body(exc), headers=challenge(exc, realm, scopes)
                ) from None

        return require_scopes


class EdgeAuthMiddleware:
    """ASGI middleware verifying every HTTP request by the settings' scope rules (paths in `exempt` pass).

    The principal is left in `request.state.principal`.
    """

    def __init__(self, app: ASGIApp, verifier: Verifier, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.verifier = verifier
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exempt and scope["path"].startswith(self.exempt)):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = normalized_path(scope["path"])
        scopes = self.verifier.settings.scopes_for(request.method, path)
        try:
            principal = self.verifier.verify_authorization(
                request.headers.get("authorization"), scopes, context=_context(request, request.method, path)
            )
        except VerificationError as exc:
            body = json.dumps(error_body(exc)).encode()
            headers = challenge(exc, self.verifier.settings.realm, scopes)
            await send(
                {
                    "type": "http.response.start",
                    "status": exc.status_code,
                    "headers": [(b"content-type", b"application/json")]
                    + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def create_verify_router(verifier: Verifier, *, path: str = "/verify") -> APIRouter:
    """`GET /verify` for reverse proxies (nginx `auth_request`, Envoy `ext_authz`, Traefik `forwardAuth`).

    The original request is read from `X-Original-Method` / `X-Original-URI` (Traefik: `X-Forwarded-Method` /
    `X-Forwarded-Uri`); Envoy's HTTP `ext_authz` instead sends the original method to `/verify` + the original
    path, which the second route accepts. Scopes come from the settings' rules by method and path prefix.
    """
    router = APIRouter(tags=["edgeauth"])
    settings = verifier.settings

    async def verify(request: Request) -> Response:
        # One pass over the raw ASGI headers (names arrive lower-cased) instead of a scan per lookup.
        raw = dict(request.scope["headers"])

        def get(name: bytes) -> str | None:
            value = raw.get(name)
            return value.decode("latin-1") if value is not None else None

        suffix = request.scope["path"][len(path) :]  # Envoy: "/verify" + the original path
        method = (get(b"x-original-method") or get(b"x-forwarded-method") or request.method).upper()
        route = normalized_path(get(b"x-original-uri") or get(b"x-forwarded-uri") or suffix or "/")
        scopes = settings.scopes_for(method, route)
        client = request.scope.get("client")
        context = RequestContext(
            source_ip=get(b"x-real-ip") or (client[0] if client else None),
            method=method,
            path=route,
            request_id=get(b"x-request-id"),
        )
        try:
            principal = verifier.verify_authorization(get(b"authorization"), scopes, context=context)
        except VerificationError as exc:
            return Response(
                json.dumps(error_body(exc)),
                status_code=exc.status_code,
                media_type="application/json",
                headers=challenge(exc, settings.realm, scopes),
            )
        return Response(
            status_code=200,
            headers={
                "X-Auth-Subject": header_value(principal.subject),
                "X-Auth-Client": header_value(principal.client_id),
                "X-Auth-Scopes": header_value(" ".join(sorted(principal.scopes))),
                "X-Auth-Token-Id": header_value(principal.token_id),
            },
        )

    # A plain Starlette route, async: no dependency solving or body validation on the hottest path, and
    # verification (microseconds of CPU) runs on the event loop rather than hopping to the thread pool.
    router.add_route(path, verify, methods=["GET"], include_in_schema=False)
    router.add_route(path + "/{original:path}", verify, methods=list(_ANY_METHOD), include_in_schema=False)
    return router
