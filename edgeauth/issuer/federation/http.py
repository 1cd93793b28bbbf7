"""The federation's browser routes: `GET /oauth/federation/{name}/start?pending=...` (the login page's "Sign in
with <IdP>" button) sends the browser to the upstream; `GET /oauth/federation/{name}/callback` takes it back,
signs the person in and resumes the authorization request, or shows the issuer's error page with what went wrong
in words the person can act on (never a token, never a stack trace). Same headers and cookies as the login page.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from edgeauth.edge.request import ClientAddress
from edgeauth.issuer.authority import Issuer
from edgeauth.issuer.federation.errors import FederationError
from edgeauth.issuer.federation.flow import CALLBACK_PATH, START_PATH, Federation
from edgeauth.issuer.pages import REDIRECT_HEADERS, Pages, UpstreamButton

MAX_QUERY_CHARS = 8192
FLOW_COOKIE = "vigil_federation_flow"
FLOW_COOKIE_PATH = "/oauth/federation"


class SignInButtons:
    """The login page's federation slot (`UpstreamSignIn`): one "Sign in with <IdP>" link per upstream."""

    def __init__(self, federation: Federation) -> None:
        self._federation = federation

    def buttons(self, pending_id: str) -> list[UpstreamButton]:
        query = urlencode({"pending": pending_id})
        return [
            UpstreamButton(label=f"Sign in with {p.settings.display_name}", href=f"{START_PATH.format(name=n)}?{query}")
            for n, p in self._federation.providers.items()
        ]


def create_federation_router(federation: Federation, issuer: Issuer) -> APIRouter:
    router = APIRouter(tags=["edgeauth federation"], include_in_schema=False)
    pages = Pages(issuer, SignInButtons(federation))
    clients = ClientAddress(issuer.settings.trusted_proxies)

    def source(request: Request) -> str | None:
        return clients.resolve(
            request.client.host if request.client else None,
            request.headers.get("x-real-ip"),
            request.headers.get("x-forwarded-for"),
        )

    def refusal(exc: FederationError) -> Response:
        return pages.render("error", status=exc.status_code, message=str(exc))

    @router.get(START_PATH.format(name="{name}"))
    async def start(name: str, pending: str = "") -> Response:
        binding = secrets.token_urlsafe(24)
        try:
            location = await run_in_threadpool(federation.begin, name, pending, issuer.browser, binding=binding)
        except FederationError as exc:
            return refusal(exc)
        response = RedirectResponse(location, status_code=302, headers=REDIRECT_HEADERS)
        # Lax, not Strict: the way back is a top-level navigation from the upstream's site, which Strict would
        # strip. Scoped to the federation's paths and to the flow's lifetime.
        response.set_cookie(
            FLOW_COOKIE,
            binding,
            max_age=federation.settings.federation.flow_ttl,
            httponly=True,
            secure=pages.secure,
            samesite="lax",
            path=FLOW_COOKIE_PATH,
        )
        return response

    @router.get(CALLBACK_PATH.format(name="{name}"))
    async def callback(name: str, request: Request) -> Response:
        if len(request.url.query) > MAX_QUERY_CHARS:
            return pages.render("error", status=400, message="this sign-in answer is too long to be real")
        query = dict(request.query_params)
        try:
            signed_in = await run_in_threadpool(
                federation.complete,
                name,
                query,
                issuer,
                binding=request.cookies.get(FLOW_COOKIE),
                source_ip=source(request),
            )
        except FederationError as exc:
            return refusal(exc)
        response = pages.step(request, signed_in.pending_id, signed_in.step)
        response.delete_cookie(FLOW_COOKIE, path=FLOW_COOKIE_PATH, httponly=True, secure=pages.secure, samesite="lax")
        return response

    return router
