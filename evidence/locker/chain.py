"""The hash chain: each entry commits to its sequence number, the previous entry and its record.

`entry_hash = SHA-256(ASCII "{sequence}:{prev_hash}:{record_digest}")` in lower-case hex, where `record_digest`
is the SHA-256 of the record's canonical JSON. An auditor can recompute it with `printf ... | sha256sum`; a
bundle can prove the chain over a range while revealing only the digests of records it does not include.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from evidence.canonical import canonical_json, rfc3339, utc
from evidence.models import RECORD_SCHEMA, EvidenceSpec


def entry_hash(sequence: int, prev_hash: str, record_digest: str) -> str:
    return hashlib.sha256(f"{sequence}:{prev_hash}:{record_digest}".encode("ascii")).hexdigest()


def build_record(
    spec: EvidenceSpec, *, sequence: int, sha256: str, size: int, default_freshness: int
) -> dict[str, Any]:
    """The record of one item: what its digest, and so the chain, commits to."""
    freshness = spec.freshness_seconds or default_freshness
    return {
        "schema": RECORD_SCHEMA,
        "sequence": sequence,
        "collector": {"name": spec.collector, "version": spec.collector_version},
        "source_system": spec.source_system,
        "query": spec.query,
        "parameters": spec.parameters,
        "effective_at": rfc3339(spec.effective_at),
        "collected_at": rfc3339(spec.collected_at),
        "fresh_until": rfc3339(utc(spec.effective_at) + timedelta(seconds=freshness)),
        "control_ids": sorted(set(spec.control_ids)),
        "content": {"media_type": spec.media_type, "sha256": sha256, "size": size},
    }


def record_bytes(record: dict[str, Any]) -> bytes:
    return canonical_json(record)


def record_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_fields(record: dict[str, Any]) -> dict[str, Any]:
    """A record flattened to the fields the index, the CSV and `EvidenceItem` share (timestamps as RFC 3339)."""
    return {
        "sequence": record["sequence"],
        "collector": record["collector"]["name"],
        "collector_version": record["collector"]["version"],
        "source_system": record["source_system"],
        "effective_at": record["effective_at"],
        "collected_at": record["collected_at"],
        "fresh_until": record["fresh_until"],
        "control_ids": record["control_ids"],
        "media_type": record["content"]["media_type"],
        "sha256": record["content"]["sha256"],
        "size": record["content"]["size"],
    }
