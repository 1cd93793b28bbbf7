"""Event search over the logs: the Lucene syntax rules compile to, by `@timestamp`, paged with `search_after`.

Called by the facade (`Detections.search_events`, `export_events`), which audits every search. Every bound is
checked before Elasticsearch is asked (query length, window, page size, columns), and what Elasticsearch refuses
(syntax, too many clauses, a regex too complex, a timeout, a failed shard) comes back as one `QueryError` or
`LimitExceededError` line, never as partial results.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Literal

from elasticsearch import BadRequestError, Elasticsearch

from detections.engine.events import source_value
from detections.errors import LimitExceededError, QueryError
from detections.models import EventPage, EventSearch
from detections.settings import DetectionsSettings
from siem import DATASETS

ExportFormat = Literal["ndjson", "csv"]
EXPORT_PAGE = 1000
# Bare words (no `field:`) search these; `lenient` stays off so a value of the wrong type for a named field is a
# clear 400 instead of silently matching nothing, which it would be over every field (`*`), dates and IPs included.
FREE_TEXT_FIELDS = (
    "message",
    "error.message",
    "url.original.caseless",
    "user_agent.original.caseless",
    "error.type.caseless",
    "event.reason.caseless",
    "user.name.caseless",
    "http.request.id",
    "vigil.auth.client_id",
)
_SORT = [{"@timestamp": {"order": "desc"}}, {"event.id": {"order": "desc", "missing": "_last"}}]
# Spreadsheets run a cell that starts with these as a formula; log fields are attacker-controlled.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def encode_cursor(sort: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The sort values of the last event of the previous page; anything else is a `QueryError`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise QueryError("after: not a cursor returned by this search") from None
    valid = (
        isinstance(values, list)
        and len(values) == 2
        and isinstance(values[0], int)
        and not isinstance(values[0], bool)
        and (values[1] is None or isinstance(values[1], str))
    )
    if not valid:
        raise QueryError("after: not a cursor returned by this search")
    return list(values)


def _reason(exc: BadRequestError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", {})
    if not isinstance(error, dict):
        return str(error)[:300]
    cause = error
    while isinstance(cause.get("caused_by"), dict):
        cause = cause["caused_by"]
    root = (error.get("root_cause") or [error])[0]
    reason = cause.get("reason") or root.get("reason") or error.get("type", "rejected")
    return " ".join(str(reason).split())[:300]


def csv_cell(value: Any) -> str:
    """One CSV cell: lists and objects as JSON, formula-looking text defused with a leading quote."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return "'" + text if text.startswith(_FORMULA_START) else text


class EventSearcher:
    def __init__(self, es: Elasticsearch, settings: DetectionsSettings) -> None:
        self.es = es
        self.settings = settings

    def check(self, search: EventSearch) -> None:
        """Refuse what is past a limit before Elasticsearch is asked."""
        s = self.settings
        if len(search.query) > s.search_max_query_chars:
            raise LimitExceededError(f"query: {len(search.query)} characters, at most {s.search_max_query_chars}")
        if search.start.tzinfo is None or search.end.tzinfo is None:
            raise QueryError("from and to must carry a time zone")
        if search.start >= search.end:
            raise QueryError("from must be before to")
        if search.end - search.start > timedelta(days=s.search_max_window_days):
            raise LimitExceededError(f"the time range is longer than {s.search_max_window_days} days; narrow it")
        if search.size > s.search_max_page:
            raise LimitExceededError(f"size: at most {s.search_max_page} events per page")
        if len(search.fields) > s.search_max_fields:
            raise LimitExceededError(f"fields: at most {s.search_max_fields} columns")
        unknown = sorted(set(search.datasets) - set(DATASETS))
        if unknown:
            raise QueryError(f"dataset: {', '.join(unknown)} unknown (known: {', '.join(DATASETS)})")

    def _indices(self, search: EventSearch) -> str:
        if search.datasets:
            return ",".join(self.settings.logs.dataset_pattern(d) for d in sorted(set(search.datasets)))
        return ",".join(self.settings.logs.dataset_pattern(d) for d in DATASETS)

    def _search(self, search: EventSearch, *, size: int, after: list[Any] | None, counts: bool) -> dict[str, Any]:
        timeout = self.settings.search_timeout_seconds
        body: dict[str, Any] = {
            "query": {
                "bool": {
                    "filter": [
                        {
                            "query_string": {
                                "query": search.query,
                                "allow_leading_wildcard": True,
                                "lenient": False,
                                "fields": list(FREE_TEXT_FIELDS),
                            }
                        },
                        {"range": {"@timestamp": {"gte": search.start.isoformat(), "lt": search.end.isoformat()}}},
                    ]
                }
            },
            "sort": _SORT,
            "size": size,
            "track_total_hits": True,
            "timeout": f"{int(timeout * 1000)}ms",
            "source_includes": list(dict.fromkeys(["event.id", *search.fields])),
        }
        if after is not None:
            body["search_after"] = after
        if counts:
            # a handful of datasets exist; a count past the 100 listed is reported as "(other)", never dropped
            body["aggs"] = {"datasets": {"terms": {"field": "event.dataset", "size": 100}}}
        try:
            response = self.es.options(request_timeout=timeout + 5).search(
                index=self._indices(search), ignore_unavailable=True, allow_no_indices=True, **body
            )
        except BadRequestError as exc:
            raise QueryError(f"query: {_reason(exc)}") from None
        if response.get("timed_out"):
            raise LimitExceededError(f"the search ran past {timeout:g} s; narrow the query or the time range and retry")
        shards = response.get("_shards", {})
        if shards.get("failed"):
            failure = (shards.get("failures") or [{}])[0].get("reason", {})
            reason = failure.get("caused_by", failure).get("reason", "a shard failed") if failure else "a shard failed"
            raise QueryError(f"query: {' '.join(str(reason).split())[:300]}")
        return dict(response)

    def _row(self, hit: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        source = hit.get("_source", {})
        row: dict[str, Any] = {"_id": hit["_id"], "_index": hit["_index"]}
        for name in fields:
            row[name] = source_value(source, name)
        return row

    def page(self, search: EventSearch) -> EventPage:
        self.check(search)
        after = decode_cursor(search.after) if search.after else None
        response = self._search(search, size=search.size, after=after, counts=True)
        hits = response["hits"]["hits"]
        agg = response.get("aggregations", {}).get("datasets", {})
        datasets = {str(b["key"]): int(b["doc_count"]) for b in agg.get("buckets", [])}
        if agg.get("sum_other_doc_count"):
            datasets["(other)"] = int(agg["sum_other_doc_count"])
        total = int(response["hits"]["total"]["value"])
        more = len(hits) == search.size and hits
        return EventPage(
            total=total,
            took_ms=int(response.get("took", 0)),
            fields=list(search.fields),
            events=[self._row(h, search.fields) for h in hits],
            datasets=datasets,
            next=encode_cursor(hits[-1]["sort"]) if more else None,
        )

    def export(self, search: EventSearch, fmt: ExportFormat) -> tuple[int, Iterator[str]]:
        """(total, the export's lines): the first page is searched now, so a refusal comes before any byte."""
        self.check(search)
        first = self._search(search, size=EXPORT_PAGE, after=None, counts=False)
        total = int(first["hits"]["total"]["value"])
        limit = self.settings.search_max_export_rows
        if total > limit:
            raise LimitExceededError(
                f"{total} events match; an export holds at most {limit}: narrow the query or the time range"
            )
        return total, self._lines(search, fmt, first)

    def _lines(self, search: EventSearch, fmt: ExportFormat, first: dict[str, Any]) -> Iterator[str]:
        fields = list(search.fields)
        if fmt == "csv":
            yield self._csv_line(["_id", "_index", *fields])
        response = first
        while True:
            hits = response["hits"]["hits"]
            for hit in hits:
                row = self._row(hit, fields)
                if fmt == "csv":
                    yield self._csv_line([csv_cell(row[k]) for k in ["_id", "_index", *fields]])
                else:
                    yield json.dumps(row, default=str, separators=(",", ":")) + "\n"
            if len(hits) < EXPORT_PAGE:
                return
            response = self._search(search, size=EXPORT_PAGE, after=hits[-1]["sort"], counts=False)

    @staticmethod
    def _csv_line(cells: list[str]) -> str:
        out = io.StringIO()
        csv.writer(out).writerow(cells)
        return out.getvalue()
