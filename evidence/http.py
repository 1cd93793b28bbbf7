"""HTTP adapter: the auditor API (`evidence:read`) and the public signing keys at a well-known URL.

Engagement: a token whose `engagement` claim does not cover the present is refused (403 `engagement_closed`),
and bundles whose period is not inside the engagement are neither listed nor served (404, as if absent).
Every download, whole or ranged, is appended to the locker before a byte is sent.
"""

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, BinaryIO

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from edgeauth import Guard, Principal
from evidence.archive import EvidenceArchive
from evidence.bundle.keys import load_public_pem
from evidence.engagement import Engagement, current_engagement
from evidence.models import BundleInfo, BundleRequest
from evidence.rfc9110 import byte_range

WELL_KNOWN_KEYS = "/.well-known/vigil-evidence-keys.json"


def _engagement(principal: Principal) -> Engagement | None:
    return current_engagement(principal.claims, datetime.now(UTC))


def create_router(guard: Guard, archive: EvidenceArchive) -> APIRouter:
    """`GET/POST /evidence/bundles`, `GET /evidence/bundles/{name}` (Range supported)."""
    router = APIRouter(prefix="/evidence", tags=["evidence"])
    Auditor = Annotated[Principal, Depends(guard.require("evidence:read"))]

    @router.get("/bundles", response_model=None)
    def list_bundles(principal: Auditor) -> JSONResponse:
        """Bundles whose period lies inside the caller's engagement (all of them for an unbounded reader)."""
        bundles = archive.bundles_for(_engagement(principal))
        return JSONResponse({"bundles": [b.model_dump(mode="json") for b in bundles]})

    @router.post("/bundles", status_code=201, response_model=None)
    def build(principal: Auditor, request: BundleRequest) -> JSONResponse:
        """Build (or rebuild: same inputs, same bytes) a bundle for a period inside the engagement."""
        archive.check_request(_engagement(principal), request.period_from, request.period_to)
        built = archive.build_bundle(request.period_from, request.period_to, request.controls)
        return JSONResponse(built.info.model_dump(mode="json"), status_code=201)

    @router.get("/bundles/{name}", response_model=None)
    async def download(name: str, principal: Auditor, request: Request) -> Response:
        """The bundle's bytes (`Range: bytes=...` honoured); the download is recorded in the locker first."""
        info = await run_in_threadpool(
            lambda: archive.download(
                name,
                principal.claims,
                subject=principal.subject,
                client_id=principal.client_id,
                token_id=principal.token_id,
                byte_range=request.headers.get("range"),
            )
        )
        return bundle_response(archive, info, request.headers.get("range"))

    return router


def bundle_response(archive: EvidenceArchive, info: BundleInfo, range_header: str | None) -> Response:
    """The bundle's bytes streamed from the shared store, whole (200) or one range (206); any replica can serve."""
    span = byte_range(range_header, info.size)
    first, last = span if span is not None else (0, info.size - 1)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(last - first + 1),
        "Content-Disposition": f'attachment; filename="{info.name}"',
        "Digest": f"sha-256={base64.b64encode(bytes.fromhex(info.sha256)).decode()}",
    }
    if span is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
    reader = archive.open_bundle(info)
    return StreamingResponse(
        _stream(reader, first, last - first + 1, archive.settings.chunk_bytes),
        status_code=206 if span is not None else 200,
        media_type="application/zip",
        headers=headers,
    )


def _stream(reader: BinaryIO, first: int, length: int, block: int) -> Iterator[bytes]:
    # A sync iterator: Starlette runs it in its thread pool, so store reads never block the event loop.
    with reader:
        reader.seek(first)
        while length > 0 and (data := reader.read(min(block, length))):
            length -= len(data)
            yield data


def create_public_router(archive: EvidenceArchive) -> APIRouter:
    """The bundle signing public keys, for anyone: `GET /.well-known/vigil-evidence-keys.json`."""
    router = APIRouter(tags=["evidence"])

    @router.get(WELL_KNOWN_KEYS, response_model=None)
    def public_keys() -> JSONResponse:
        keys = archive.public_keys()
        return JSONResponse(
            {"keys": [{**k.model_dump(mode="json"), "jwk": _jwk(k.public_key_pem, k.kid)} for k in keys]},
            headers={"Cache-Control": "public, max-age=300"},
        )

    return router


def _jwk(pem: str, kid: str) -> dict[str, str]:
    raw = load_public_pem(pem.encode()).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA"}
