"""Elasticsearch layout of the locker, the bundle catalog and the blob store, and a streaming reader over it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from elasticsearch import Elasticsearch

from evidence.settings import EvidenceSettings

_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}
_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}

LOCKER_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "sequence": {"type": "long"},
        "prev_hash": _KEYWORD,
        "record_digest": _KEYWORD,
        "entry_hash": _KEYWORD,
        "record": _STORED_ONLY,
        "appended_at": _DATE,
        "collector": _KEYWORD,
        "collector_version": _KEYWORD,
        "source_system": _KEYWORD,
        "effective_at": _DATE,
        "collected_at": _DATE,
        "fresh_until": _DATE,
        "control_ids": _KEYWORD,
        "media_type": _KEYWORD,
        "sha256": _KEYWORD,
        "size": {"type": "long"},
    },
}

BUNDLE_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "name": _KEYWORD,
        "sha256": _KEYWORD,
        "size": {"type": "long"},
        "period_from": _DATE,
        "period_to": _DATE,
        "controls": _KEYWORD,
        "items": {"type": "long"},
        "first_sequence": {"type": "long"},
        "last_sequence": {"type": "long"},
        "kid": _KEYWORD,
        "built_at": _DATE,
    },
}


# Content and bundle blobs (`evidence.store.elasticsearch`): heads and chunks in one index, found by id only.
BLOB_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "kind": _KEYWORD,
        "sha256": _KEYWORD,
        "size": {"type": "long"},
        "chunk_bytes": {"type": "integer"},
        "chunks": {"type": "integer"},
        "upload": _KEYWORD,
        "chunk_digests": _STORED_ONLY,
        "n": {"type": "integer"},
        "data": {"type": "binary"},
    },
}


def index_templates(settings: EvidenceSettings) -> list[dict[str, Any]]:
    """The indices evidence owns, as data (Elasticsearch index templates): `vigil` applies them."""
    owned = [
        (settings.locker_index, LOCKER_MAPPINGS),
        (settings.bundle_index, BUNDLE_MAPPINGS),
        (settings.content_index, BLOB_MAPPINGS),
        (settings.bundle_file_index, BLOB_MAPPINGS),
    ]
    return [
        {"name": name, "index_patterns": [name], "template": {"mappings": mappings}, "meta": {"owner": "evidence"}}
        for name, mappings in owned
    ]


def stream(
    es: Elasticsearch,
    index: str,
    query: dict[str, Any],
    sort: list[dict[str, Any]],
    page_size: int,
) -> Iterator[dict[str, Any]]:
    """Every matching `_source`, page by page with `search_after`: memory holds one page, never the set.

    `sort` must end on a unique, immutable field (the sequence number). Entries are never changed or removed and
    new ones only sort after the old, so pages are consistent without a point in time, and no keep-alive can
    expire while a caller spends minutes on one page (streaming gigabytes of content into a bundle).
    """
    after: list[Any] | None = None
    while True:
        page = es.search(
            index=index, query=query, sort=sort, size=page_size, search_after=after, track_total_hits=False
        )
        hits = page["hits"]["hits"]
        for hit in hits:
            yield hit["_source"]
        if len(hits) < page_size:
            return
        after = hits[-1]["sort"]
