"""The pipeline: push records into the stream, and drain it in bounded batches into Elasticsearch.

`Pipeline` is siem's public entry point for producers (HTTP ingest, file tail, logging handler, edgeauth
decisions, other packages' tests) and for workers (`run_once`, `pump`, `drain`). It holds no per-run state.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import redis
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from siem.activity import TimeSeries, events_by_dataset
from siem.bulk import BulkWriter, Doc
from siem.deadletter import dead_letter_doc, truncated
from siem.ecs import Dataset
from siem.errors import ElasticsearchUnavailableError, InvalidBatchError, SiemError
from siem.models import BatchReport, DeadLetterForecast, IngestReceipt
from siem.parsers import RecordFormat, dataset_of, parse_record, resolve_format
from siem.screening import failures, forecast
from siem.settings import SiemSettings
from siem.stream import Entry, EventStream
from siem.templates import IndexLayout


def default_consumer() -> str:
    """A consumer name unique to this process: a restarted worker never inherits a dead one's name."""
    return f"{socket.gethostname()}:{os.getpid()}"


def event_id(entry_id: str, position: int) -> str:
    """The deterministic `_id` of record `position` of stream entry `entry_id` (stable across redeliveries)."""
    return hashlib.blake2b(f"{entry_id}/{position}".encode(), digest_size=16).hexdigest()


def sender_of(source: str) -> str:
    """The principal behind a stream entry's source: the token's client for `http:<client_id>`, else the
    in-process producer's own name (`edgeauth`, `vigil-audit`, `file:<path>`)."""
    return source.removeprefix("http:")


class Pipeline:
    def __init__(self, es: Elasticsearch, redis_client: redis.Redis, settings: SiemSettings) -> None:
        self.es = es
        self.settings = settings
        self.layout = IndexLayout(settings)
        self.stream = EventStream(redis_client, settings)
        self.writer = BulkWriter(es, settings.es_retry_seconds)

    def request_indexed(self, request_id: str, dataset: Dataset = "access") -> bool:
        """Whether an event of `dataset` carrying this `http.request.id` is searchable yet (the canary's marker)."""
        response = self.es.search(
            index=self.layout.dataset_pattern(dataset),
            ignore_unavailable=True,
            allow_no_indices=True,
            size=0,
            query={"term": {"http.request.id": request_id}},
        )
        return int(response.body["hits"]["total"]["value"]) > 0

    def ingested_by_dataset(self, days: int, now: datetime | None = None) -> TimeSeries:
        """Events indexed over the last `days`, per data set and time bucket (the console's overview chart)."""
        return events_by_dataset(self.es, self.layout.logs_pattern, days, now)

    def setup(self) -> None:
        """Create the consumer group (idempotent); the index templates are applied by whoever composes siem."""
        self.stream.ensure_group()

    # -- producers -------------------------------------------------------------------------------------------

    def push(
        self,
        fmt: RecordFormat | str,
        records: Sequence[str],
        *,
        source: str = "api",
        ids: Sequence[str | None] | None = None,
        screen: bool = False,
    ) -> IngestReceipt:
        """Queue records of one format durably (all or none); raises `BackpressureError` above the high-water mark.

        `screen` (external producers: HTTP, files) parses each record once more to say in the receipt how many will
        end in the dead letter and why; in-process producers (decisions, audit) build their records and skip it.
        """
        known = resolve_format(fmt)
        if ids is not None and len(ids) != len(records):
            raise InvalidBatchError(f"{len(ids)} ids for {len(records)} records: they must pair one to one")
        entries = self.stream.push(known, records, source=source, ids=ids)
        return IngestReceipt(
            dataset=dataset_of(known),
            format=known,
            accepted=len(records),
            entries=entries,
            dead_letter=forecast(failures(known, records)) if screen else DeadLetterForecast(),
        )

    def push_together(
        self, batches: Sequence[tuple[RecordFormat, Sequence[str], Sequence[str | None]]], *, source: str
    ) -> list[list[str]]:
        """Queue records of several formats as one: all or none, so a request answered as a whole (a bulk
        request) is never half queued. Returns each batch's stream entries, in order."""
        planned = []
        for fmt, records, ids in batches:
            if len(ids) != len(records):
                raise InvalidBatchError(f"{len(ids)} ids for {len(records)} records: they must pair one to one")
            planned.append(self.stream.chunks(resolve_format(fmt), records, source=source, ids=ids))
        entries = self.stream.enqueue([chunk for chunks in planned for chunk in chunks])
        answer, start = [], 0
        for chunks in planned:
            answer.append(entries[start : start + len(chunks)])
            start += len(chunks)
        return answer

    # -- workers ---------------------------------------------------------------------------------------------

    def _gather(self, consumer: str, block_ms: int | None) -> tuple[list[Entry], int]:
        """Entries for one batch: our own unacked ones, reclaimed ones, then new ones up to the count, bytes or age
        bound. Our own pending entries (left by a failed attempt) are re-read only once Elasticsearch answers, so
        an outage does not spend their delivery budget."""
        own: list[Entry] = []
        if self.stream.has_pending(consumer):
            if not self._elasticsearch_answers():
                raise ElasticsearchUnavailableError("Elasticsearch does not answer; pending entries wait")
            own = self.stream.own_pending(consumer, count=64)
        reclaimed = self.stream.claim(consumer, count=64)
        entries = own + reclaimed
        events = sum(len(e.records) for e in entries)
        size = sum(e.size for e in entries)
        deadline = time.monotonic() + self.settings.batch_max_age
        wait = block_ms
        while events < self.settings.batch_max_events and size < self.settings.batch_max_bytes:
            # Entries hold up to `chunk_records` events: ask for what fits so a batch does not overshoot its bound.
            room = -(-(self.settings.batch_max_events - events) // self.settings.chunk_records)
            got = self.stream.read(consumer, count=max(1, min(16, room)), block_ms=wait)
            if not got:
                break
            entries += got
            events += sum(len(e.records) for e in got)
            size += sum(e.size for e in got)
            left = deadline - time.monotonic()
            wait = None if left <= 0 or block_ms is None else max(1, int(left * 1000))
        return entries, len(reclaimed)

    def _elasticsearch_answers(self) -> bool:
        try:
            self.es.options(request_timeout=2.0, max_retries=0).cluster.health()
        except (ApiError, TransportError):
            return False
        return True

    def run_once(self, consumer: str | None = None, *, block_ms: int | None = None) -> BatchReport:
        """Take one batch, index it, ack it. Raises `ElasticsearchUnavailableError` leaving the batch pending."""
        entries, reclaimed = self._gather(consumer or default_consumer(), block_ms)
        if not entries:
            return BatchReport()
        return self.process(entries).model_copy(update={"reclaimed": reclaimed})

    def process(self, entries: Sequence[Entry]) -> BatchReport:
        """Parse, index and ack entries; every record ends in its index or the dead letter before the ack."""
        docs: list[Doc] = []
        dead: list[Doc] = []
        origins: list[tuple[Entry, str, str, datetime]] = []
        for entry in entries:
            received = datetime.fromtimestamp(entry.queued_ms / 1000, UTC)
            poisoned = entry.deliveries > self.settings.max_deliveries
            sender = sender_of(entry.source)
            for position, record in enumerate(entry.records):
                eid = (entry.ids[position] if entry.ids else None) or event_id(entry.entry_id, position)
                if poisoned:
                    reason = f"delivered {entry.deliveries} times without being indexed"
                    dead.append(dead_letter_doc(self.layout, entry, record, eid, received, "max_deliveries", reason))
                    continue
                try:
                    document = parse_record(
                        resolve_format(entry.fmt), record, event_id=eid, received=received, sender=sender
                    )
                except SiemError as exc:
                    dead.append(dead_letter_doc(self.layout, entry, record, eid, received, "parse_error", str(exc)))
                    continue
                event = document["event"]
                index = self.layout.index_for_timestamp(event["dataset"], document["@timestamp"])
                docs.append(Doc(index, event["id"], document, len(origins)))
                origins.append((entry, record, eid, received))
        outcome = self.writer.write(docs)
        for doc, error_type, reason in outcome.rejected:
            # Mapping errors are permanent: they join the parse errors in the dead letter.
            entry, record, eid, received = origins[doc.ref]
            message = f"{error_type}: {reason}"
            dead.append(dead_letter_doc(self.layout, entry, record, eid, received, "mapping_error", message))
        dead_outcome = self.writer.write(dead)
        if dead_outcome.rejected:
            # Never loop on a record the dead letter itself refuses: keep a truncated copy and say why.
            retry = self.writer.write([truncated(doc, f"{kind}: {why}") for doc, kind, why in dead_outcome.rejected])
            if retry.rejected:
                doc, kind, why = retry.rejected[0]
                raise ElasticsearchUnavailableError(f"the dead letter refused {doc.doc_id}: {kind}: {why}")
            dead_outcome.created.extend(retry.created)
            dead_outcome.duplicates.extend(retry.duplicates)
        self.stream.ack(entries)
        indexed, duplicates = len(outcome.created), len(outcome.duplicates) + len(dead_outcome.duplicates)
        dead_lettered = len(dead_outcome.created)
        lag_ms = int(time.time() * 1000 - min(e.queued_ms for e in entries))
        self.stream.count(indexed=indexed, duplicates=duplicates, dead_lettered=dead_lettered, batches=1)
        self.stream.gauge(last_lag_ms=lag_ms)
        touched = {d.index for d in outcome.created} | {d.index for d in dead_outcome.created}
        return BatchReport(
            entries=len(entries),
            events=sum(len(e.records) for e in entries),
            indexed=indexed,
            duplicates=duplicates,
            dead_lettered=dead_lettered,
            indices=sorted(touched),
        )

    def pump(self, seconds: float, consumer: str | None = None) -> BatchReport:
        """Drain for up to `seconds` (the Celery task body); stops early when the stream is empty (a blocking
        read returned nothing) or Elasticsearch is unavailable, so an idle pump frees its process."""
        name = consumer or default_consumer()
        total = BatchReport()
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            try:
                report = self.run_once(name, block_ms=min(1000, max(1, int((stop - time.monotonic()) * 1000))))
            except ElasticsearchUnavailableError:
                # The batch stays pending for this consumer; pause so an outage is not a busy loop.
                time.sleep(min(1.0, max(0.0, stop - time.monotonic())))
                break
            total = total + report
            if not report.entries:
                break
        return total

    def drain(self, consumer: str | None = None, *, refresh: bool = True) -> BatchReport:
        """Process everything queued now, synchronously, then make it searchable (tests, demo, CLI)."""
        name = consumer or default_consumer()
        total = BatchReport()
        while True:
            report = self.run_once(name)
            total = total + report
            if report.entries == 0:
                break
        if refresh and total.indices:
            self.es.indices.refresh(index=",".join(total.indices), ignore_unavailable=True)
        return total
