"""The append-only evidence locker: metadata in Elasticsearch, content in the shared blob store, one hash chain.

Appends are serialised twice over: a Redis lock orders the appenders, and each entry is created with
`op_type=create` under its sequence number as `_id`, so even an appender whose lock expired cannot fork the
chain (its write conflicts, it re-reads the head and retries). The head is anchored in Redis as well, so the
removal of the newest entries from Elasticsearch is detected by `verify()`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

import redis
from elasticsearch import ConflictError, Elasticsearch
from redis.exceptions import LockError

from evidence.canonical import parse_rfc3339, rfc3339, utc
from evidence.errors import InvalidEvidenceError, LockerBusyError
from evidence.locker.chain import build_record, entry_hash, record_bytes, record_digest, record_fields
from evidence.locker.index import stream
from evidence.models import GENESIS_HASH, ChainHead, EvidenceItem, EvidenceSpec, LockerReport
from evidence.settings import EvidenceSettings
from evidence.store import BlobStore, open_stores

_APPEND_ATTEMPTS = 5
#: Sequences are Elasticsearch `long`s; asking for a larger one is asking for an item that cannot exist.
MAX_SEQUENCE = 2**63 - 1


class EvidenceLocker:
    """Append evidence, read it back by period and control, and prove nothing was removed or altered."""

    def __init__(
        self, es: Elasticsearch, redis_client: redis.Redis, settings: EvidenceSettings, content: BlobStore | None = None
    ) -> None:
        self.es = es
        self.redis = redis_client
        self.settings = settings
        self.index = settings.locker_index
        self.content = content if content is not None else open_stores(es, settings)[0]
        self._lock_key = f"{settings.namespace}:evidence:lock"
        self._head_key = f"{settings.namespace}:evidence:head"

    # -- writing ---------------------------------------------------------------------------------------------

    def append(
        self,
        *,
        collector: str,
        collector_version: str,
        source_system: str,
        query: str,
        parameters: dict[str, Any] | None = None,
        effective_at: datetime,
        collected_at: datetime | None = None,
        control_ids: Iterable[str] = (),
        media_type: str = "application/octet-stream",
        content: bytes | BinaryIO,
        freshness_seconds: int | None = None,
    ) -> EvidenceItem:
        """Store one item and chain it; returns the entry as readers will see it."""
        try:
            spec = EvidenceSpec(
                collector=collector,
                collector_version=collector_version,
                source_system=source_system,
                query=query,
                parameters=parameters or {},
                effective_at=effective_at,
                collected_at=collected_at or datetime.now(UTC),
                control_ids=tuple(control_ids),
                media_type=media_type,
                freshness_seconds=freshness_seconds,
            )
        except ValueError as exc:
            raise InvalidEvidenceError(f"invalid evidence item: {_first_error(exc)}") from None
        return self.append_spec(spec, content)

    def append_spec(self, spec: EvidenceSpec, content: bytes | BinaryIO) -> EvidenceItem:
        sha, size = self.content.put(content)
        lock = self.redis.lock(
            self._lock_key, timeout=max(60.0, self.settings.lock_timeout_seconds * 2), blocking_timeout=None
        )
        if not lock.acquire(blocking=True, blocking_timeout=self.settings.lock_timeout_seconds):
            raise LockerBusyError(
                f"the locker lock {self._lock_key} stayed taken for {self.settings.lock_timeout_seconds}s"
            )
        try:
            return self._append_locked(spec, sha, size)
        finally:
            # An expired lock is harmless: the create-on-sequence guard kept the chain linear.
            with contextlib.suppress(LockError):
                lock.release()

    def _append_locked(self, spec: EvidenceSpec, sha: str, size: int) -> EvidenceItem:
        head = self._cached_head()
        for _ in range(_APPEND_ATTEMPTS):
            sequence = (head.sequence if head else 0) + 1
            prev = head.entry_hash if head else GENESIS_HASH
            doc = chained_document(spec, sequence, prev, sha, size, self.settings.default_freshness_seconds)
            try:
                self.es.create(index=self.index, id=str(sequence), document=doc)
            except ConflictError:
                head = self._head_from_index()
                continue
            new_head = ChainHead(sequence=sequence, entry_hash=doc["entry_hash"])
            self.redis.set(self._head_key, new_head.model_dump_json())
            return _item(doc, datetime.now(UTC))
        raise LockerBusyError(f"could not append after {_APPEND_ATTEMPTS} sequence conflicts; retry")

    # -- the head --------------------------------------------------------------------------------------------

    def head(self) -> ChainHead | None:
        """The newest entry according to Elasticsearch."""
        return self._head_from_index()

    def anchored_head(self) -> ChainHead | None:
        """The head as last written by an appender (the Redis anchor)."""
        raw = cast(bytes | str | None, self.redis.get(self._head_key))
        return ChainHead.model_validate_json(raw) if raw else None

    def _cached_head(self) -> ChainHead | None:
        return self.anchored_head() or self._head_from_index()

    def _head_from_index(self) -> ChainHead | None:
        self.es.indices.refresh(index=self.index)
        hits = self.es.search(
            index=self.index, size=1, sort=[{"sequence": "desc"}], source_includes=["sequence", "entry_hash"]
        )["hits"]["hits"]
        if not hits:
            return None
        return ChainHead(sequence=hits[0]["_source"]["sequence"], entry_hash=hits[0]["_source"]["entry_hash"])

    # -- reading ---------------------------------------------------------------------------------------------

    def entries(self, first: int | None = None, last: int | None = None) -> Iterator[dict[str, Any]]:
        """Raw entries in sequence order (streamed), optionally bounded to a sequence range."""
        self.es.indices.refresh(index=self.index)
        bounds: dict[str, int] = {}
        if first is not None:
            bounds["gte"] = first
        if last is not None:
            bounds["lte"] = last
        query: dict[str, Any] = {"range": {"sequence": bounds}} if bounds else {"match_all": {}}
        return stream(self.es, self.index, query, [{"sequence": "asc"}], self.settings.page_size)

    def entry(self, sequence: int) -> dict[str, Any] | None:
        """The raw entry of one sequence number, or None; a number no `long` can hold is simply not there."""
        if not 0 < sequence <= MAX_SEQUENCE:
            return None
        return next(iter(self.entries(first=sequence, last=sequence)), None)

    def items(
        self,
        period_from: datetime,
        period_to: datetime,
        controls: Iterable[str] = (),
        *,
        as_of: datetime | None = None,
    ) -> Iterator[EvidenceItem]:
        """Items whose effective time lies in [period_from, period_to), optionally for some controls, by sequence.

        `stale` is judged at `as_of` (default now): an item is stale once its freshness window has passed.
        """
        self.es.indices.refresh(index=self.index)
        moment = utc(as_of) if as_of else datetime.now(UTC)
        query = period_query(period_from, period_to, controls)
        for doc in stream(self.es, self.index, query, [{"sequence": "asc"}], self.settings.page_size):
            yield _item(doc, moment)

    def items_for_control(self, control_id: str, *, as_of: datetime | None = None) -> Iterator[EvidenceItem]:
        return self.items(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC), [control_id], as_of=as_of)

    def sequence_range(
        self, period_from: datetime, period_to: datetime, controls: Iterable[str] = ()
    ) -> tuple[int, int, int] | None:
        """(first, last, count) of the matching sequence numbers, or None when nothing matches."""
        self.es.indices.refresh(index=self.index)
        result = self.es.search(
            index=self.index,
            size=0,
            query=period_query(period_from, period_to, controls),
            aggs={"first": {"min": {"field": "sequence"}}, "last": {"max": {"field": "sequence"}}},
            track_total_hits=True,
        )
        count = int(result["hits"]["total"]["value"])
        if count == 0:
            return None
        aggs = result["aggregations"]
        return int(aggs["first"]["value"]), int(aggs["last"]["value"]), count

    def open_content(self, sha256: str) -> BinaryIO:
        return self.content.open(sha256)

    # -- verification ----------------------------------------------------------------------------------------

    def verify(self, *, check_content: bool = True) -> LockerReport:
        """Walk the whole chain and name every break: holes, reordering, edits, removed head, altered content."""
        problems: list[str] = []
        prev = GENESIS_HASH
        expected = 1
        count = 0
        for doc in self.entries():
            count += 1
            problems.extend(check_entry(doc, expected, prev))
            if check_content and (problem := self.content.check(doc["sha256"], doc["size"])):
                problems.append(f"sequence {doc['sequence']}: {problem}")
            expected = int(doc["sequence"]) + 1
            prev = doc["entry_hash"]
        head = ChainHead(sequence=expected - 1, entry_hash=prev) if count else None
        anchor = self.anchored_head()
        if anchor is not None and anchor != head:
            seen = f"{head.sequence} ({head.entry_hash[:12]})" if head else "empty"
            problems.append(
                f"head anchor says sequence {anchor.sequence} ({anchor.entry_hash[:12]}) but the index ends at {seen}:"
                " newest entries were removed or replaced"
            )
        return LockerReport(entries=count, head=head, problems=problems)


def period_query(period_from: datetime, period_to: datetime, controls: Iterable[str]) -> dict[str, Any]:
    if utc(period_to) <= utc(period_from):
        raise InvalidEvidenceError("the period must end after it starts (--to after --from)")
    filters: list[dict[str, Any]] = [
        {"range": {"effective_at": {"gte": rfc3339(period_from), "lt": rfc3339(period_to)}}}
    ]
    wanted = sorted(set(controls))
    if wanted:
        filters.append({"terms": {"control_ids": wanted}})
    return {"bool": {"filter": filters}}


def check_entry(doc: dict[str, Any], expected: int, prev: str) -> list[str]:
    """Every way one entry fails to be the `expected` sequence following `prev` (empty when it holds)."""
    seq = int(doc["sequence"])
    problems: list[str] = []
    if seq != expected:
        problems.append(f"sequence {seq}: expected {expected} (entries {expected}..{seq - 1} are missing)")
    if doc["prev_hash"] != prev:
        problems.append(f"sequence {seq}: prev_hash does not match the previous entry (removed or reordered)")
    raw = doc["record"].encode("utf-8")
    if record_digest(raw) != doc["record_digest"]:
        problems.append(f"sequence {seq}: record was edited (its digest no longer matches)")
    if entry_hash(seq, doc["prev_hash"], doc["record_digest"]) != doc["entry_hash"]:
        problems.append(f"sequence {seq}: entry_hash does not commit to its sequence, prev_hash and record")
    record = json.loads(raw)
    indexed = {
        "sequence": seq,
        "sha256": doc["sha256"],
        "size": doc["size"],
        "control_ids": list(doc["control_ids"]),
        "effective_at": doc["effective_at"],
    }
    stated = {
        "sequence": record["sequence"],
        "sha256": record["content"]["sha256"],
        "size": record["content"]["size"],
        "control_ids": record["control_ids"],
        "effective_at": record["effective_at"],
    }
    for field, value in indexed.items():
        if stated[field] != value:
            problems.append(f"sequence {seq}: indexed {field} differs from the chained record")
    return problems


def chained_document(
    spec: EvidenceSpec, sequence: int, prev: str, sha: str, size: int, default_freshness: int
) -> dict[str, Any]:
    """The index document of entry `sequence` following `prev`: record, digest, link and the searchable fields."""
    record = build_record(spec, sequence=sequence, sha256=sha, size=size, default_freshness=default_freshness)
    raw = record_bytes(record)
    digest = record_digest(raw)
    return {
        **record_fields(record),
        "prev_hash": prev,
        "record_digest": digest,
        "entry_hash": entry_hash(sequence, prev, digest),
        "record": raw.decode("utf-8"),
        "appended_at": rfc3339(datetime.now(UTC)),
    }


def _item(doc: dict[str, Any], as_of: datetime) -> EvidenceItem:
    record = json.loads(doc["record"])
    fresh_until = parse_rfc3339(record["fresh_until"])
    return EvidenceItem.model_validate(
        {
            **record_fields(record),
            "query": record["query"],
            "parameters": record["parameters"],
            "prev_hash": doc["prev_hash"],
            "record_digest": doc["record_digest"],
            "entry_hash": doc["entry_hash"],
            "appended_at": doc["appended_at"],
            "stale": as_of >= fresh_until,
            "as_of": as_of,
        }
    )


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}"
    return str(exc)
