"""Downloads, refused downloads and key rotations of the archive reach the audit sink (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from elasticsearch import Elasticsearch

from edgeauth import CollectingAuditSink
from evidence import BundleNotFoundError, EngagementError, EvidenceArchive, EvidenceSettings
from tests.evidence.conftest import SEALER, T0

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
CURRENT: dict[str, Any] = {"engagement": {"from": "2026-01-01T00:00:00Z", "to": (NOW + timedelta(days=30)).isoformat()}}
OVER: dict[str, Any] = {"engagement": {"from": "2001-01-01T00:00:00Z", "to": "2001-02-01T00:00:00Z"}}


def test_downloads_and_refusals_are_audited(
    es: Elasticsearch, redis_conn: redis.Redis, evidence_settings: EvidenceSettings
) -> None:
    sink = CollectingAuditSink()
    archive = EvidenceArchive(es, redis_conn, evidence_settings, SEALER, audit=sink)
    for day in (0, 1):
        archive.locker.append(
            collector="c", collector_version="1", source_system="s", query="q", effective_at=T0 + timedelta(days=day),
            content=b"{}",
        )  # fmt: skip
    archive.locker.append(
        collector="c", collector_version="1", source_system="s", query="q",
        effective_at=datetime(2025, 6, 1, tzinfo=UTC), content=b"old",
    )  # fmt: skip
    inside = archive.build_bundle(T0, T0 + timedelta(days=5)).info.name
    outside = archive.build_bundle(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)).info.name

    def download(name: str, claims: dict[str, Any]) -> None:
        archive.download(name, claims, subject="auditor-jane", client_id="audit-co", token_id="t1", byte_range=None)

    download(inside, CURRENT)
    with pytest.raises(BundleNotFoundError):
        download(outside, CURRENT)
    with pytest.raises(EngagementError):
        download(inside, OVER)
    with pytest.raises(BundleNotFoundError):
        download("evidence-20010101T000000Z-20010102T000000Z-000000000000.zip", CURRENT)
    archive.rotate_key()

    seen = [(e.action, e.outcome, e.reason, e.target) for e in sink.events]
    assert seen == [
        ("bundle-downloaded", "success", None, f"bundle:{inside}"),
        ("bundle-downloaded", "failure", "outside-engagement", f"bundle:{outside}"),
        ("bundle-downloaded", "failure", "engagement-not-current", f"bundle:{inside}"),
        (
            "bundle-downloaded",
            "failure",
            "not-found",
            "bundle:evidence-20010101T000000Z-20010102T000000Z-000000000000.zip",
        ),
        ("evidence-key-rotated", "success", None, seen[-1][3]),
    ]
    first = sink.events[0]
    assert (first.actor, first.client_id, first.category, first.type) == ("auditor-jane", "audit-co", "file", "access")
    assert sink.events[1].type == "denied"
    # the locker keeps its own record of the successful download, as before
    assert sum(1 for doc in archive.locker.entries() if '"download-bundle"' in doc["record"]) == 1


def test_a_sequence_past_any_long_is_simply_absent(archive: EvidenceArchive) -> None:
    assert archive.locker.entry(2**63) is None
    assert archive.locker.entry(0) is None
