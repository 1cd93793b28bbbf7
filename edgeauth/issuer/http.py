"""FastAPI adapter of the issuer: the Starlette half of authlib's missing server integration.

Each endpoint reads and parses the form body here (async), then runs the synchronous `Issuer` in a worker
thread. `install_error_handler` maps every edgeauth error reaching FastAPI to RFC 6749 section 5.2 JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from edgeauth.edge.request import ClientAddress
from edgeauth.errors import EdgeAuthError, VerificationError
from edgeauth.issuer.authority import (
    INTROSPECTION_PATH,
    JWKS_PATH,
    METADATA_PATH,
    OPENID_CONFIGURATION_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    Issuer,
)
from edgeauth.issuer.errors import IssuerError, RateLimited
from edgeauth.issuer.server import IssuerRequest, IssuerResponse, parse_form

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def _issuer_request(request: Request, max_bytes: int, clients: ClientAddress) -> IssuerRequest:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            break
    form, audiences = parse_form(bytes(body), request.headers.get("content-type"), max_bytes=max_bytes)
    return IssuerRequest(
        method=request.method,
        path=request.url.path,
        headers=request.headers,
        form=form,
        audiences=audiences,
        # The same rule as the guard and /verify: forwarding headers count only from a trusted proxy, so a
        # client cannot spread its failures over made-up addresses to slip under the per-address throttle.
        source_ip=clients.resolve(
            request.client.host if request.client else None,
            request.headers.get("x-real-ip"),
            request.headers.get("x-forwarded-for"),
        ),
        request_id=request.headers.get("x-request-id"),
    )


def _response(result: IssuerResponse) -> JSONResponse:
    headers = {name: value for name, value in result.headers if name.lower() != "content-type"}
    headers.update(NO_STORE)
    return JSONResponse(result.body, status_code=result.status, headers=headers)


def create_issuer_router(issuer: Issuer) -> APIRouter:
    """Routes of the authorization server: token, revocation, introspection, RFC 8414 metadata and JWKS."""
    router = APIRouter(tags=["edgeauth issuer"])
    max_bytes = issuer.settings.oauth.max_form_bytes
    clients = ClientAddress(issuer.settings.trusted_proxies)

    @router.post(TOKEN_PATH, summary="RFC 6749 token endpoint")
    async def token(request: Request) -> Response:
        return _response(await run_in_threadpool(issuer.token, await _issuer_request(request, max_bytes, clients)))

    @router.post(REVOCATION_PATH, summary="RFC 7009 token revocation")
    async def revoke(request: Request) -> Response:
        return _response(await run_in_threadpool(issuer.revoke, await _issuer_request(request, max_bytes, clients)))

    @router.post(INTROSPECTION_PATH, summary="RFC 7662 token introspection")
    async def introspect(request: Request) -> Response:
        return _response(await run_in_threadpool(issuer.introspect, await _issuer_request(request, max_bytes, clients)))

    @router.get(METADATA_PATH, summary="RFC 8414 authorization server metadata")
    def metadata() -> dict[str, Any]:
        return issuer.metadata()

    @router.get(OPENID_CONFIGURATION_PATH, summary="OpenID Connect discovery (metadata only, no ID tokens)")
    def openid_configuration() -> dict[str, Any]:
        return issuer.openid_configuration()

    @router.get(JWKS_PATH, summary="Public signing keys (RFC 7517)")
    async def jwks() -> Response:
        document = await run_in_threadpool(issuer.jwks)
        # Short cache: verifiers refetch on an unknown kid, and the next key is published before it signs.
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=60"})

    return router


def oauth_error(exc: EdgeAuthError) -> JSONResponse:
    """RFC 6749 section 5.2 JSON for any edgeauth error; never a 500 for a refusal."""
    if isinstance(exc, IssuerError | VerificationError):
        status, error = exc.status_code, exc.error
    else:
        status, error = 503, "temporarily_unavailable"
    headers = dict(NO_STORE)
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, VerificationError):
        headers["WWW-Authenticate"] = exc.www_authenticate()
    return JSONResponse({"error": error, "error_description": _ascii(str(exc))}, status_code=status, headers=headers)


def install_error_handler(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, EdgeAuthError)
        return oauth_error(exc)

    app.add_exception_handler(EdgeAuthError, handle)


def _ascii(text: str) -> str:
    # RFC 6749 5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
    return "".join(ch for ch in text if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\')
