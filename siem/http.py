"""HTTP adapters: `POST /ingest/{dataset}` (NDJSON, gzip accepted), answering 202 once the batch is in Redis, and
the Elasticsearch-compatible door (`POST /_bulk` and the calls shippers make on start-up, see `create_shipper_router`).

`access` and `exception` records take `ingest:write`. `auth` and `audit` records are what detections trust most
(forgery, stuffing, key and rule changes), so each takes its own scope (`ingest:auth`, `ingest:audit`) that only
their producers hold: an ordinary ingest token gets 403 for them (shippers reach `access` and `exception` only).
Whoever sends, the token's client is stamped on every event as `vigil.ingest.client`; nothing in the body can claim
it. The receipt says how many records will go to the dead letter and why (`DeadLetterForecast`).
"""

import asyncio
import base64
import binascii
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from edgeauth import Guard, Principal
from siem.batch import gunzip, split_records
from siem.ecs import DATASETS, Dataset
from siem.errors import BatchTooLargeError, InvalidBatchError, UnknownDatasetError
from siem.inputs.bulkapi import (
    REFUSAL_PAUSE_SECONDS,
    all_refused_for_now,
    bulk_response,
    dataset_of_index,
    queue_items,
    read_bulk,
    whole_refusal,
)
from siem.inputs.otlp import export_response, read_logs
from siem.parsers import DEFAULT_FORMAT, dataset_of, resolve_format
from siem.pipeline import Pipeline


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BatchTooLargeError(f"batch of {declared} bytes exceeds the {limit}-byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BatchTooLargeError(f"batch exceeds the {limit}-byte limit")
    return bytes(body)


async def _read_encoded_body(request: Request, limit: int) -> bytes:
    body = await _read_body(request, limit)
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding == "gzip":
        return await run_in_threadpool(gunzip, [body], limit)
    if encoding != "identity":
        raise InvalidBatchError(f"content-encoding {encoding!r} is not supported; send gzip or identity")
    return body


#: Datasets whose records only their producers may send, and the scope each takes.
DEDICATED_SCOPES: dict[Dataset, str] = {"auth": "ingest:auth", "audit": "ingest:audit", "canary": "ingest:canary"}


def create_router(guard: Guard, pipeline: Pipeline) -> APIRouter:
    router = APIRouter(tags=["ingest"])
    settings = pipeline.settings
    Format = Annotated[str | None, Query(alias="format", max_length=32)]

    async def accept(dataset: str, request: Request, principal: Principal, record_format: str | None) -> JSONResponse:
        known = next((d for d in DATASETS if d == dataset), None)
        if known is None:
            raise UnknownDatasetError(f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}")
        fmt = resolve_format(record_format) if record_format else DEFAULT_FORMAT[known]
        if dataset_of(fmt) != known:
            raise InvalidBatchError(f"format {fmt!r} belongs to dataset {dataset_of(fmt)!r}, not {known!r}")
        body = await _read_encoded_body(request, settings.max_request_bytes)
        records = await run_in_threadpool(split_records, body, settings)
        receipt = await run_in_threadpool(
            lambda: pipeline.push(fmt, records, source=f"http:{principal.client_id}", screen=True)
        )
        return JSONResponse(receipt.model_dump(mode="json"), status_code=202)

    def dedicated(dataset: Dataset, scope: str) -> Callable[..., Awaitable[JSONResponse]]:
        async def route(
            request: Request,
            principal: Annotated[Principal, Depends(guard.require(scope))],
            record_format: Format = None,
        ) -> JSONResponse:
            return await accept(dataset, request, principal, record_format)

        return route

    # The dedicated routes come first: `/ingest/auth` never reaches the `ingest:write` route below.
    for dataset, scope in DEDICATED_SCOPES.items():
        router.add_api_route(
            f"/ingest/{dataset}",
            dedicated(dataset, scope),
            methods=["POST"],
            status_code=202,
            response_model=None,
            summary=f"Ingest {dataset} records",
            description=f"Queue a batch of `{dataset}` records (one per line); needs `{scope}`.",
        )

    @router.post("/ingest/{dataset}", status_code=202, response_model=None)
    async def ingest(
        dataset: str,
        request: Request,
        principal: Annotated[Principal, Depends(guard.require("ingest:write"))],
        record_format: Format = None,
    ) -> JSONResponse:
        """Queue a batch of records (one per line) for `access` or `exception`."""
        return await accept(dataset, request, principal, record_format)

    return router


def shipper_token(authorization: str | None) -> str | None:
    """The Vigil access token inside the schemes Elasticsearch outputs send, or None for any other header (which
    the guard then judges as it is): `ApiKey <token>`, `ApiKey base64(<id>:<token>)` (what clients build from an
    id and a key) and `Basic base64(<user>:<token>)` (outputs that only know a user and a password)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme not in ("apikey", "basic") or not value or " " in value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    _, colon, secret = decoded.partition(":")
    if colon and secret.isprintable() and secret and " " not in secret:
        return secret
    # A bare API key is the token itself (an access token is never valid base64 of `id:key`: it holds dots).
    return value if scheme == "apikey" else None


def _shipper_guard(guard: Guard, *scopes: str) -> Callable[[Request], Principal]:
    """The guard, reading a token from the shipper schemes as if it came as `Authorization: Bearer`."""
    check = guard.require(*scopes)

    def require(request: Request) -> Principal:
        token = shipper_token(request.headers.get("authorization"))
        if token is not None:
            headers = [(k, v) for k, v in request.scope["headers"] if k != b"authorization"]
            headers.append((b"authorization", f"Bearer {token}".encode()))
            request = Request({**request.scope, "headers": headers})
        return check(request)

    return require


#: OpenAPI tag of the Elasticsearch-compatible routes: the app renders their errors as Elasticsearch does.
ELASTICSEARCH_TAG = "elasticsearch-compatible"
# Elasticsearch clients check this header on every successful answer before believing it.
_PRODUCT = {"X-Elastic-Product": "Elasticsearch"}


def _elastic(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=_PRODUCT)


def create_shipper_router(guard: Guard, pipeline: Pipeline) -> APIRouter:
    """The Elasticsearch API subset a shipper's Elasticsearch output needs, so pointing it at Vigil changes only
    its host and credentials: `POST`/`PUT` `/_bulk` and `/{index}/_bulk` (clients use either); `GET /` with the
    backing cluster's version, so version checks pass; `GET /_license`, `/_xpack`, `/_cat/health`; `HEAD`/`GET` of
    templates and policies (present: Vigil owns its mappings, so a shipper never installs its own); `HEAD /{index}`
    (present for a shipped dataset's name)."""
    router = APIRouter(tags=["ingest", ELASTICSEARCH_TAG])
    settings = pipeline.settings
    Shipper = Annotated[Principal, Depends(_shipper_guard(guard, "ingest:write"))]
    Refusal = Annotated[
        Literal["item", "request"],
        Query(description="How a full queue refuses: per item inside a 200 (Elasticsearch's way), or the request."),
    ]
    version: dict[str, Any] = {}

    @router.post("/_bulk", response_model=None)
    @router.put("/_bulk", response_model=None)
    @router.post("/{index}/_bulk", response_model=None)
    @router.put("/{index}/_bulk", response_model=None)
    async def bulk(
        request: Request, principal: Shipper, index: str | None = None, refusal: Refusal = "item"
    ) -> JSONResponse:
        """Queue the `index`/`create` actions of an NDJSON bulk body; one status per item (see siem.inputs.bulkapi).
        `refusal=request`: a full queue (or Redis down) answers 429 (503) for the whole request instead."""
        started = time.monotonic()
        body = await _read_encoded_body(request, settings.max_request_bytes)
        items = await run_in_threadpool(read_bulk, body, settings, index)
        await run_in_threadpool(queue_items, pipeline, items, principal.client_id)
        whole = whole_refusal(items, settings) if refusal == "request" else None
        if whole is not None or all_refused_for_now(items):
            # Shippers such as rsyslog re-send refused items at once, without backoff: holding the answer paces
            # their retry loop to the queue's drain instead of a busy loop (the wait costs no thread here).
            await asyncio.sleep(REFUSAL_PAUSE_SECONDS)
        if whole is not None:
            raise whole
        return _elastic(bulk_response(items, started))

    @router.get("/", response_model=None)
    async def info(principal: Shipper) -> JSONResponse:
        if not version:
            # The backing cluster's version (its lowest node's), so shippers' version checks see a real one.
            found = await run_in_threadpool(pipeline.es.nodes.info, filter_path="nodes.*.version")
            numbers = sorted({node["version"] for node in found.get("nodes", {}).values()})
            version.update(number=numbers[0] if numbers else "", build_flavor="default", build_type="vigil")
        return _elastic(
            {
                "name": "vigil",
                "cluster_name": settings.namespace,
                "cluster_uuid": "vigil",
                "version": version,
                "tagline": "You Know, for Search",
            }
        )

    @router.get("/_license", response_model=None)
    async def license_(principal: Shipper) -> JSONResponse:
        return _elastic({"license": {"status": "active", "type": "basic", "uid": "vigil", "issued_to": "vigil"}})

    @router.get("/_xpack", response_model=None)
    async def xpack(principal: Shipper) -> JSONResponse:
        return _elastic(
            {
                "build": {"hash": "vigil"},
                "license": {"status": "active", "type": "basic", "mode": "basic", "uid": "vigil"},
                "features": {},
            }
        )

    @router.get("/_cat/health", response_model=None)
    async def health(principal: Shipper) -> Response:
        """rsyslog's omelasticsearch asks this before its first bulk; the bulk answer itself reports a full queue."""
        return Response("green\n", media_type="text/plain", headers=_PRODUCT)

    @router.get("/_index_template/{name}", response_model=None)
    @router.get("/_template/{name}", response_model=None)
    @router.get("/_ilm/policy/{name}", response_model=None)
    async def owned(name: str, principal: Shipper) -> JSONResponse:
        """Present and Vigil's: a shipper that finds its template or policy in place does not try to install it."""
        return _elastic({"index_templates": [{"name": name, "index_template": {"index_patterns": [f"{name}*"]}}]})

    @router.head("/_index_template/{name}", response_model=None)
    @router.head("/_template/{name}", response_model=None)
    @router.head("/_ilm/policy/{name}", response_model=None)
    async def owned_head(name: str, principal: Shipper) -> Response:
        return Response(status_code=200, headers=_PRODUCT)

    async def index_exists(index: str, principal: Shipper) -> Response:
        found = dataset_of_index(index, settings.namespace) is not None
        return Response(status_code=200 if found else 404, headers=_PRODUCT)

    router.add_api_route(
        "/{index}", index_exists, methods=["HEAD"], response_model=None, route_class_override=_HeadOnlyRoute
    )
    return router


def create_otlp_router(guard: Guard, pipeline: Pipeline) -> APIRouter:
    """OTLP/HTTP logs: `POST /v1/logs`, protobuf or JSON, gzip accepted, the same credentials as the bulk door."""
    router = APIRouter(tags=["ingest"])
    settings = pipeline.settings
    Shipper = Annotated[Principal, Depends(_shipper_guard(guard, "ingest:write"))]

    @router.post("/v1/logs", response_model=None)
    async def logs(request: Request, principal: Shipper) -> Response:
        """Queue every log record of an export request; 200 once queued (oversized records: `partial_success`)."""
        content_type = request.headers.get("content-type", "")
        body = await _read_encoded_body(request, settings.max_request_bytes)
        records, rejected, reason = await run_in_threadpool(read_logs, body, content_type, settings)
        if records:
            await run_in_threadpool(pipeline.push, "otel", records, source=f"http:{principal.client_id}")
        answer, media = export_response(content_type, rejected, reason)
        return Response(answer, media_type=media)

    return router


class _HeadOnlyRoute(APIRoute):
    """A route that does not exist for other methods: `HEAD /{index}` matches every one-segment path, and a normal
    route would turn a `GET` of any unknown path into 405 instead of 404."""

    def matches(self, scope: MutableMapping[str, Any]) -> tuple[Match, MutableMapping[str, Any]]:
        if scope.get("method") != "HEAD":
            return Match.NONE, {}
        return super().matches(scope)
