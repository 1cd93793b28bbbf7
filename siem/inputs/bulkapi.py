"""The Elasticsearch bulk API as a door into the pipeline: what a shipper's Elasticsearch output sends, queued.

Called by the `POST /_bulk` routes (`siem.http`). A bulk body is NDJSON action/source pairs; each item is
mapped to a dataset (its target index, or a `vigil.dataset` field), then to a record format and the record text
the existing parsers read (an nginx line in `message`, a lograge object, a JSON exception), and queued through
`Pipeline.push_together` with the shipper's `_id` as its event id. The answer is a real bulk response, one status
per item, so a shipper retries exactly the items that failed: 201 queued (durably, as `POST /ingest` 202 means), 409 an
`_id` repeated within the request, 429 above the high-water mark, 503 queue down, 400 an item that can never
succeed. The accepted items are queued together (all or none), so a shipper that reads only the HTTP status (such as
syslog-ng's `elasticsearch-http`) can ask with `refusal=request` for a full queue to refuse the request as a whole.
Only `index` and `create` exist: Vigil's indices are append-only, so `update` and `delete` are refused per item.
Only the `access` and `exception` datasets are open to shippers; `auth` and `audit` are Vigil's own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from siem.ecs import Dataset
from siem.errors import BackpressureError, InvalidBatchError, QueueUnavailableError
from siem.parsers import RecordFormat
from siem.pipeline import Pipeline, event_id
from siem.settings import SiemSettings

#: Datasets a shipper may write; Vigil's own decision and audit trails take no outside records.
SHIPPED_DATASETS: tuple[Dataset, ...] = ("access", "exception")
_ACTIONS = ("index", "create", "update", "delete")
_MAX_ID_BYTES = 512  # Elasticsearch's own `_id` limit


@dataclass(slots=True)
class BulkItem:
    """One action of a bulk request and, once decided, its answer."""

    action: str
    index: str | None
    doc_id: str | None
    fmt: RecordFormat | None = None
    record: str = ""
    status: int = 0
    error: tuple[str, str] | None = None

    def refuse(self, status: int, kind: str, reason: str) -> None:
        self.status, self.error = status, (kind, reason)

    def answer(self) -> dict[str, Any]:
        body: dict[str, Any] = {"_index": self.index or "", "status": self.status}
        if self.doc_id is not None:  # a refused item without a shipper `_id` never got one: no `"_id": null`
            body["_id"] = self.doc_id
        if self.error is not None:
            body["error"] = {"type": self.error[0], "reason": self.error[1]}
        else:
            body.update(
                _version=1,
                result="created",
                _shards={"total": 1, "successful": 1, "failed": 0},
                _seq_no=0,
                _primary_term=1,
            )
        return {self.action: body}


def dataset_of_index(index: str | None, namespace: str) -> Dataset | None:
    """`access`, `access-2026.12.01`, `{namespace}-logs-access...` and `logs-access...` name the access dataset."""
    if not index:
        return None
    name = index.removeprefix(f"{namespace}-logs-").removeprefix("logs-")
    for dataset in SHIPPED_DATASETS:
        if name == dataset or name.startswith(dataset + "-"):
            return dataset
    return None


def _declared_dataset(source: dict[str, Any]) -> object:
    vigil = source.get("vigil")
    if isinstance(vigil, dict) and "dataset" in vigil:
        return vigil["dataset"]
    return source.get("vigil.dataset")


def record_of(dataset: Dataset, source: dict[str, Any], line: str) -> tuple[RecordFormat, str]:
    """The format and record text the parsers read: a shipper's `message` holds the raw log line (nginx, a JSON
    exception or a traceback) unless the document is itself structured (lograge fields, an `error` object)."""
    message = source.get("message")
    if dataset == "access":
        if isinstance(message, str) and not {"method", "path", "status"} & source.keys():
            return "nginx", message
        return "json", line
    if isinstance(message, str) and not {"error", "exception"} & source.keys():
        return ("exception" if message.lstrip().startswith("{") else "python"), message
    return "exception", line


def _decode(raw: bytes, what: str, number: int) -> Any:
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidBatchError(f"line {number} ({what}) is not valid UTF-8") from None
    except RecursionError:
        raise InvalidBatchError(f"line {number} ({what}) is nested too deeply") from None
    except ValueError as exc:
        raise InvalidBatchError(f"line {number} ({what}) is not JSON: {exc}") from None


def _action(raw: bytes, number: int, default_index: str | None) -> BulkItem:
    """A malformed action line makes the rest of the body unreadable, so it refuses the request (400)."""
    value = _decode(raw, "action", number)
    if not isinstance(value, dict) or len(value) != 1:
        raise InvalidBatchError(f"line {number}: an action line is one object with one key, one of {_ACTIONS}")
    action, meta = next(iter(value.items()))
    if action not in _ACTIONS or not isinstance(meta, dict):
        raise InvalidBatchError(f"line {number}: unknown action {action!r}; use one of {', '.join(_ACTIONS)}")
    index, doc_id = meta.get("_index", default_index), meta.get("_id")
    if not (index is None or isinstance(index, str)) or not (doc_id is None or isinstance(doc_id, str)):
        raise InvalidBatchError(f"line {number}: _index and _id must be strings")
    return BulkItem(action=action, index=index, doc_id=doc_id)


def read_bulk(body: bytes, settings: SiemSettings, default_index: str | None) -> list[BulkItem]:
    """Items of an NDJSON bulk body with their record, or their per-item refusal (status set)."""
    lines = body.split(b"\n")
    items: list[BulkItem] = []
    seen: set[str] = set()
    number = 0
    while number < len(lines):
        raw = lines[number].strip()
        number += 1
        if not raw:
            continue
        item = _action(raw, number, default_index)
        items.append(item)
        if item.action != "delete":
            if number >= len(lines) or not lines[number].strip():
                raise InvalidBatchError(f"line {number}: {item.action} action without a source line")
            source_line = lines[number].strip()
            number += 1
            _read_source(item, source_line, number, settings)
        if item.action in ("update", "delete") and not item.status:
            item.refuse(400, "illegal_argument_exception", f"{item.action} is not supported: Vigil is append-only")
        if item.status == 0 and item.doc_id is not None:
            if item.doc_id in seen:
                item.refuse(409, "version_conflict_engine_exception", f"[{item.doc_id}]: repeated in this request")
            seen.add(item.doc_id)
    if not items:
        raise InvalidBatchError("bulk body holds no actions")
    return items


def _read_source(item: BulkItem, line: bytes, number: int, settings: SiemSettings) -> None:
    if item.action == "update":
        return
    if len(line) > settings.max_line_bytes:
        item.refuse(400, "illegal_argument_exception", f"document exceeds the {settings.max_line_bytes}-byte limit")
        return
    if item.doc_id is not None and not 0 < len(item.doc_id.encode()) <= _MAX_ID_BYTES:
        item.refuse(400, "illegal_argument_exception", f"_id must be 1 to {_MAX_ID_BYTES} bytes")
        return
    try:
        text = line.decode("utf-8")
        source = json.loads(text)
    except UnicodeDecodeError:
        item.refuse(400, "document_parsing_exception", f"line {number}: the document is not valid UTF-8")
        return
    except (ValueError, RecursionError):
        item.refuse(400, "document_parsing_exception", f"line {number}: the document is not a JSON object")
        return
    if not isinstance(source, dict):
        item.refuse(400, "document_parsing_exception", f"line {number}: the document is not a JSON object")
        return
    declared = _declared_dataset(source)
    dataset = dataset_of_index(declared, "") if isinstance(declared, str) else None
    dataset = dataset or dataset_of_index(item.index, settings.namespace)
    if dataset is None:
        named = f"vigil.dataset {declared!r}" if declared is not None else f"index {item.index!r}"
        reason = f"{named} names no dataset open to shippers; use one of {', '.join(SHIPPED_DATASETS)}"
        item.refuse(400, "index_not_found_exception", reason)
        return
    item.fmt, item.record = record_of(dataset, source, text)


def queue_items(pipeline: Pipeline, items: Sequence[BulkItem], sender: str) -> None:
    """Push the accepted items as one (all or none, whatever their formats): a full queue answers 429 and Redis
    down 503 for every one of them, so a retry of the refused items never repeats a queued one."""
    groups: dict[RecordFormat, list[BulkItem]] = {}
    for item in items:
        if item.status == 0 and item.fmt is not None:
            groups.setdefault(item.fmt, []).append(item)
    if not groups:
        return
    batches = [(fmt, [i.record for i in group], [i.doc_id for i in group]) for fmt, group in groups.items()]
    try:
        entries = pipeline.push_together(batches, source=f"http:{sender}")
    except BackpressureError as exc:
        for group in groups.values():
            for item in group:
                item.refuse(429, "es_rejected_execution_exception", str(exc))
        return
    except QueueUnavailableError as exc:
        for group in groups.values():
            for item in group:
                item.refuse(503, "unavailable_shards_exception", str(exc))
        return
    chunk = pipeline.settings.chunk_records
    for group, written in zip(groups.values(), entries, strict=True):
        for position, item in enumerate(group):
            # The id the worker will give a record without one: the same function, the same stream position.
            if item.doc_id is None:
                item.doc_id = event_id(written[position // chunk], position % chunk)
            item.status = 201


#: How long a bulk answer whose items were all refused for now (429/503) is held back before it is sent.
REFUSAL_PAUSE_SECONDS = 0.5


def all_refused_for_now(items: Sequence[BulkItem]) -> bool:
    """Every item refused with a status worth retrying (a full or unavailable queue), none taken."""
    return all(item.status in (429, 503) for item in items)


def whole_refusal(
    items: Sequence[BulkItem], settings: SiemSettings
) -> BackpressureError | QueueUnavailableError | None:
    """The refusal of the request as a whole, for shippers that read only the HTTP status of a bulk answer (see
    `refusal=request`): since the items are queued together, one refused for now means none was queued."""
    for item in items:
        reason = item.error[1] if item.error is not None else ""
        if item.status == 429:
            return BackpressureError(reason, retry_after=settings.retry_after_seconds)
        if item.status == 503:
            return QueueUnavailableError(reason)
    return None


def bulk_response(items: Sequence[BulkItem], started: float) -> dict[str, Any]:
    return {
        "took": int((time.monotonic() - started) * 1000),
        "errors": any(item.error is not None for item in items),
        "items": [item.answer() for item in items],
    }
