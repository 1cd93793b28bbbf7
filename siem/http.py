"""HTTP adapter: `POST /ingest/{dataset}` (NDJSON, gzip accepted), answering 202 once the batch is in Redis."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from edgeauth import Guard, Principal
from siem.batch import gunzip, split_records
from siem.ecs import DATASETS
from siem.errors import BatchTooLargeError, InvalidBatchError, UnknownDatasetError
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


def create_router(guard: Guard, pipeline: Pipeline) -> APIRouter:
    router = APIRouter(tags=["ingest"])
    settings = pipeline.settings

    @router.post("/ingest/{dataset}", status_code=202, response_model=None)
    async def ingest(
        dataset: str,
        request: Request,
        principal: Annotated[Principal, Depends(guard.require("ingest:write"))],
        record_format: Annotated[str | None, Query(alias="format", max_length=32)] = None,
    ) -> JSONResponse:
        """Queue a batch of records (one per line) for `access`, `exception` or `auth`."""
        known = next((d for d in DATASETS if d == dataset), None)
        if known is None:
            raise UnknownDatasetError(f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}")
        fmt = resolve_format(record_format) if record_format else DEFAULT_FORMAT[known]
        if dataset_of(fmt) != known:
            raise InvalidBatchError(f"format {fmt!r} belongs to dataset {dataset_of(fmt)!r}, not {known!r}")
        body = await _read_body(request, settings.max_request_bytes)
        encoding = request.headers.get("content-encoding", "identity").lower()
        if encoding == "gzip":
            body = await run_in_threadpool(gunzip, [body], settings.max_request_bytes)
        elif encoding != "identity":
            raise InvalidBatchError(f"content-encoding {encoding!r} is not supported; send gzip or identity")
        records = await run_in_threadpool(split_records, body, settings)
        receipt = await run_in_threadpool(pipeline.push, fmt, records, source=f"http:{principal.client_id}")
        return JSONResponse(receipt.model_dump(mode="json"), status_code=202)

    return router
