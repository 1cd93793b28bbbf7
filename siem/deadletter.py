"""The dead letter: records that could not be parsed or indexed, kept whole with the reason, and replayable.

A dead-letter document's `_id` is the event id the record would have had, and a replay re-queues the record
with that id as its producer id: replaying twice, or replaying a record that meanwhile got in, never duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from siem.bulk import Doc
from siem.errors import DeadLetterError
from siem.models import DeadLetter, IngestReceipt
from siem.parsers import FORMATS, dataset_of
from siem.stream import Entry
from siem.templates import IndexLayout

# A record keeps its raw text in the dead letter up to this size; larger ones were refused at ingest already.
_MAX_ORIGINAL = 2 * 1024 * 1024

_TRUNCATED = 4096

Pusher = Callable[..., IngestReceipt]


def dead_letter_doc(
    layout: IndexLayout, entry: Entry, record: str, eid: str, received: datetime, error_type: str, message: str
) -> Doc:
    body = {
        "@timestamp": received.isoformat(),
        "event": {"id": eid, "dataset": _dataset_name(entry.fmt), "original": record[:_MAX_ORIGINAL]},
        "error": {"type": error_type, "message": message[:8000]},
        "vigil": {
            "deadletter": {
                "format": entry.fmt,
                "source": entry.source,
                "stream_id": entry.entry_id,
                "deliveries": entry.deliveries,
                "replayed": False,
            }
        },
    }
    # `index`, not `create`: a record failing again after a replay shows its latest error, unreplayed.
    return Doc(layout.deadletter_for(received), eid, body, op="index")


def truncated(doc: Doc, reason: str) -> Doc:
    """A dead-letter document the index refused, reduced to what always fits: the head of the raw text."""
    event = dict(doc.body["event"])
    event["original"] = str(event["original"])[:_TRUNCATED]
    error = dict(doc.body["error"])
    error["message"] = f"{error['message']} (raw text truncated to {_TRUNCATED} characters: {reason})"[:8000]
    return Doc(doc.index, doc.doc_id, {**doc.body, "event": event, "error": error}, op=doc.op)


def _dataset_name(fmt: str) -> str:
    return next((dataset_of(f) for f in FORMATS if f == fmt), "unknown")


def _to_model(hit: dict[str, Any]) -> DeadLetter:
    src = hit["_source"]
    meta = src.get("vigil", {}).get("deadletter", {})
    return DeadLetter(
        id=hit["_id"],
        index=hit["_index"],
        timestamp=src["@timestamp"],
        dataset=src.get("event", {}).get("dataset", "unknown"),
        format=meta.get("format", ""),
        source=meta.get("source", ""),
        error_type=src.get("error", {}).get("type", ""),
        error_message=src.get("error", {}).get("message", ""),
        original=src.get("event", {}).get("original", ""),
        deliveries=int(meta.get("deliveries", 0)),
        replayed=bool(meta.get("replayed", False)),
    )


class DeadLetterStore:
    def __init__(self, es: Elasticsearch, layout: IndexLayout) -> None:
        self.es = es
        self.layout = layout

    def list(self, *, limit: int = 50, include_replayed: bool = False) -> list[DeadLetter]:
        """The newest dead letters first."""
        query: dict[str, Any] = (
            {"match_all": {}}
            if include_replayed
            else {"bool": {"must_not": [{"term": {"vigil.deadletter.replayed": True}}]}}
        )
        try:
            self.es.indices.refresh(index=self.layout.deadletter_pattern, allow_no_indices=True)
            response = self.es.search(
                index=self.layout.deadletter_pattern,
                query=query,
                size=limit,
                sort=[{"@timestamp": "desc"}],
                allow_no_indices=True,
                ignore_unavailable=True,
            )
        except NotFoundError:
            return []
        return [_to_model(hit) for hit in response["hits"]["hits"]]

    def replay(self, push: Pusher, ids: Sequence[str] | None = None, *, limit: int = 1000) -> int:
        """Re-queue dead letters (all not yet replayed, or the given ids) after a parser fix; returns how many."""
        letters = [d for d in self.list(limit=limit) if ids is None or d.id in ids]
        if ids is not None:
            missing = set(ids) - {d.id for d in letters}
            if missing:
                raise DeadLetterError(f"no unreplayed dead letter with id {sorted(missing)[0]!r}")
        by_format: dict[str, list[DeadLetter]] = {}
        for letter in letters:
            if letter.format:
                by_format.setdefault(letter.format, []).append(letter)
        replayed = 0
        for fmt, group in by_format.items():
            push(fmt, [d.original for d in group], source="replay", ids=[d.id for d in group])
            for letter in group:
                self.es.update(
                    index=letter.index,
                    id=letter.id,
                    doc={"vigil": {"deadletter": {"replayed": True}}},
                    refresh=True,
                )
            replayed += len(group)
        return replayed
