"""Fixtures of the evidence tests: an archive on a unique index prefix, key prefix and folder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from elasticsearch import Elasticsearch
from pydantic import SecretStr

from edgeauth import Sealer
from evidence import BuiltBundle, EvidenceArchive, EvidenceItem, EvidenceSettings

T0 = datetime(2026, 3, 1, tzinfo=UTC)
KEK = "evidence-tests-key-encryption-key"
SEALER = Sealer(SecretStr(KEK))


@pytest.fixture
def evidence_settings(
    es_namespace: str, redis_namespace: str, tmp_path: Path, apply_indices: Callable[..., None]
) -> EvidenceSettings:
    apply_indices(es_namespace, "evidence")
    return EvidenceSettings(namespace=es_namespace)


@pytest.fixture
def archive(es: Elasticsearch, redis_conn: redis.Redis, evidence_settings: EvidenceSettings) -> EvidenceArchive:
    return EvidenceArchive(es, redis_conn, evidence_settings, SEALER)


Add = Callable[..., EvidenceItem]


@pytest.fixture
def add(archive: EvidenceArchive) -> Add:
    """Append an item `day` days after T0 with small JSON content."""

    def _add(
        day: int = 0,
        controls: tuple[str, ...] = ("CC6.1",),
        content: bytes | None = None,
        freshness_seconds: int | None = None,
    ) -> EvidenceItem:
        effective = T0 + timedelta(days=day)
        return archive.locker.append(
            collector="test-collector",
            collector_version="1.2.3",
            source_system="unit-test",
            query="GET /things?since=:since",
            parameters={"since": effective.isoformat(), "n": day},
            effective_at=effective,
            collected_at=effective + timedelta(minutes=5),
            control_ids=controls,
            media_type="application/json",
            content=content if content is not None else f'{{"day": {day}}}'.encode(),
            freshness_seconds=freshness_seconds,
        )

    return _add


def saved(archive: EvidenceArchive, built: BuiltBundle, folder: Path) -> Path:
    """The bundle copied out of the shared store into `folder`, for the tests that read it as a file."""
    folder.mkdir(parents=True, exist_ok=True)
    return archive.export_bundle(built.info.name, folder)
