"""Bulk writes with per-item outcomes: created, duplicate (409, a retry of a document already in), retryable
(429 and 5xx, sent again with exponential backoff and jitter) or rejected (mapping errors: the dead letter).

Every document is sent with `op_type=create` and a deterministic `_id`, which is what makes redelivery safe.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from siem.errors import ElasticsearchUnavailableError


@dataclass(frozen=True, slots=True)
class Doc:
    index: str
    doc_id: str
    body: dict[str, Any]
    ref: int = 0
    op: str = "create"


@dataclass(slots=True)
class BulkOutcome:
    created: list[Doc] = field(default_factory=list)
    duplicates: list[Doc] = field(default_factory=list)
    rejected: list[tuple[Doc, str, str]] = field(default_factory=list)


class _Retry(Exception):
    """Some items (or the whole request) met a transient failure."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _dumps(body: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(body)
    except TypeError:
        # Integers past 64 bits or lone surrogates: the stdlib writes both (escaped), and Elasticsearch judges them
        # (a mapping error sends the record to the dead letter).
        return json.dumps(body, separators=(",", ":")).encode()


def _transient(status: int) -> bool:
    return status == 429 or status >= 500


class BulkWriter:
    def __init__(self, es: Elasticsearch, retry_seconds: float) -> None:
        self.es = es
        self.retry_seconds = retry_seconds

    def write(self, docs: Sequence[Doc]) -> BulkOutcome:
        """Write every document or raise `ElasticsearchUnavailableError`; the outcome says where each one ended."""
        outcome = BulkOutcome()
        pending = list(docs)
        retrying = Retrying(
            stop=stop_after_delay(self.retry_seconds),
            wait=wait_exponential_jitter(multiplier=0.1, max=5.0, jitter=0.5),
            retry=retry_if_exception_type(_Retry),
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._attempt(pending, outcome)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            reason = last.reason if isinstance(last, _Retry) else repr(last)
            raise ElasticsearchUnavailableError(
                f"{len(pending)} documents not confirmed by Elasticsearch within {self.retry_seconds:g}s: {reason}"
            ) from None
        return outcome

    def _attempt(self, docs: list[Doc], outcome: BulkOutcome) -> None:
        """One bulk request; `docs` is narrowed in place to what must be sent again."""
        if not docs:
            return
        # One NDJSON body serialised with orjson: the client's per-line stdlib serialisation was a third of a batch.
        lines: list[bytes] = []
        for doc in docs:
            lines.append(orjson.dumps({doc.op: {"_index": doc.index, "_id": doc.doc_id}}))
            lines.append(_dumps(doc.body))
        lines.append(b"")
        operations = b"\n".join(lines)
        try:
            response = self.es.perform_request(
                "POST",
                "/_bulk",
                params={"filter_path": "errors,items.*.status,items.*.error.type,items.*.error.reason"},
                headers={"content-type": "application/x-ndjson", "accept": "application/json"},
                body=operations,
            )
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise _Retry(f"Elasticsearch unreachable ({type(exc).__name__})") from None
        except ApiError as exc:
            if _transient(exc.meta.status):
                raise _Retry(f"bulk request answered {exc.meta.status}") from None
            raise
        items = response.get("items", [])
        if len(items) != len(docs):
            raise _Retry(f"bulk answered {len(items)} items for {len(docs)} documents")
        retry: list[Doc] = []
        for doc, item in zip(docs, items, strict=True):
            result = item.get(doc.op, {})
            status = int(result.get("status", 0))
            if status in (200, 201):
                outcome.created.append(doc)
            elif status == 409:
                outcome.duplicates.append(doc)
            elif _transient(status):
                retry.append(doc)
            else:
                error = result.get("error", {})
                outcome.rejected.append((doc, str(error.get("type", status)), str(error.get("reason", ""))[:2000]))
        docs[:] = retry
        if retry:
            raise _Retry(f"{len(retry)} items answered 429/5xx")
