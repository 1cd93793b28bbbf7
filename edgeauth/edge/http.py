"""HTTP adapters over the verifier: the `Guard` (FastAPI dependency), an ASGI middleware and `GET /verify`.

Only this module knows about HTTP: refusals become 401 (403 for a missing scope) with an RFC 6750
`WWW-Authenticate` challenge; the domain raises `VerificationError`s and never `HTTPException`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.routing import Route

from edgeauth.edge.asgi import VerifyEndpoint, refusal_body
from edgeauth.edge.request import ClientAddress, normalized_path
from edgeauth.edge.verifier import RequestContext, Verifier
from edgeauth.errors import VerificationError
from edgeauth.models import Principal

_ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def challenge(exc: VerificationError, realm: str, scopes: tuple[str, ...] = ()) -> dict[str, str]:
    return {"WWW-Authenticate": exc.www_authenticate(realm, " ".join(scopes) or None)}


def error_body(exc: VerificationError) -> dict[str, str]:
    return {"error": exc.error, "error_description": exc.description, "reason": exc.reason}


def request_context(request: Request, clients: ClientAddress, method: str, path: str) -> RequestContext:
    """The decision context of a request the app itself serves; the client address as `ClientAddress` says."""
    headers = request.headers
    source_ip = clients.resolve(
        request.client.host if request.client else None, headers.get("x-real-ip"), headers.get("x-forwarded-for")
    )
    return RequestContext(source_ip=source_ip, method=method, path=path, request_id=headers.get("x-request-id"))


class Guard:
    """FastAPI adapter over a `Verifier`: `Depends(guard.require("alerts:read"))` yields the `Principal`."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self.clients = ClientAddress(verifier.settings.trusted_proxies)

    def require(self, *scopes: str) -> Callable[..., Principal]:
        verifier = self.verifier
        realm = verifier.settings.realm
        clients = self.clients

        def require_scopes(request: Request) -> Principal:
            try:
                context = request_context(request, clients, request.method, request.url.path)
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
        self.clients = ClientAddress(verifier.settings.trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exempt and scope["path"].startswith(self.exempt)):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        scopes: tuple[str, ...] = ()
        try:
            path = normalized_path(scope["path"])
            scopes = self.verifier.settings.scopes_for(request.method, path)
            principal = self.verifier.verify_authorization(
                request.headers.get("authorization"),
                scopes,
                context=request_context(request, self.clients, request.method, path),
            )
        except VerificationError as exc:
            body = refusal_body(exc)
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
    """`GET /verify` (and Envoy's `/verify/<original path>`, any method) as routes of an app: `VerifyEndpoint`.

    The endpoint is a bare ASGI app behind the route: no dependency solving or body validation on the hottest
    path, and verification (microseconds of CPU) runs on the event loop rather than hopping to the thread pool.
    """
    router = APIRouter(tags=["edgeauth"])
    endpoint = VerifyEndpoint(verifier, path=path)
    # Starlette routes hand a non-function endpoint the raw ASGI call: no request object is built.
    router.routes.append(Route(path, endpoint, methods=["GET"], include_in_schema=False))
    router.routes.append(Route(path + "/{original:path}", endpoint, methods=_ANY_METHOD, include_in_schema=False))
    return router
