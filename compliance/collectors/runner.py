"""One collection: every collector the scope needs reads its source once and appends one locker item.

Evidence is read back with `load_evidence`, the same decoding an auditor applies to a bundle's items.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from elasticsearch import ApiError, TransportError
from pydantic import BaseModel, ConfigDict, ValidationError
from redis.exceptions import RedisError

from compliance.catalog import Catalog, load_catalog
from compliance.collectors.base import COLLECTORS, Sources
from compliance.errors import CollectionError, ComplianceError, ScopeError
from compliance.evidence import MEDIA_TYPE, PAYLOADS, Evidence, EvidenceSet
from compliance.models import Period
from evidence import EvidenceError, EvidenceLocker

# A failing source is reported per collector; the others still run, so one outage is not a missed collection.
_SOURCE_ERRORS = (ApiError, TransportError, RedisError, ValidationError, ComplianceError, OSError, KeyError)


class Collected(BaseModel):
    model_config = ConfigDict(frozen=True)
    collector: str
    sequence: int
    sha256: str


class NotCollected(BaseModel):
    model_config = ConfigDict(frozen=True)
    collector: str
    reason: str


class CollectionReport(BaseModel):
    model_config = ConfigDict(frozen=True)
    at: datetime
    collected: tuple[Collected, ...]
    skipped: tuple[NotCollected, ...]
    failed: tuple[NotCollected, ...]


def collect(
    locker: EvidenceLocker,
    sources: Sources,
    *,
    catalog: Catalog | None = None,
    only: Iterable[str] = (),
    now: datetime | None = None,
) -> CollectionReport:
    """Run the collectors the scope needs (or `only` these) and append what they read to the locker."""
    catalog = catalog or load_catalog()
    moment = now or datetime.now(UTC)
    controls = catalog.in_scope(sources.settings.scope)
    names = tuple(only) or catalog.collectors_for(controls)
    unknown = sorted(set(names) - set(COLLECTORS))
    if unknown:
        raise ScopeError(f"unknown collector(s) {', '.join(unknown)}; known: {', '.join(sorted(COLLECTORS))}")
    in_scope = {c.id for c in controls}
    thresholds = sources.settings.thresholds
    freshness = thresholds.collection_interval_seconds + thresholds.collection_grace_seconds
    collected: list[Collected] = []
    skipped: list[NotCollected] = []
    failed: list[NotCollected] = []
    for name in names:
        collector = COLLECTORS[name](sources)
        if collector is None:
            skipped.append(NotCollected(collector=name, reason="its source is not configured"))
            continue
        try:
            payload = collector.collect(moment)
            item = locker.append(
                collector=name,
                collector_version=sources.settings.collector_version,
                source_system=collector.source_system,
                query=collector.query,
                parameters=collector.parameters(),
                effective_at=moment,
                collected_at=datetime.now(UTC),
                control_ids=[c for c in catalog.controls_for_collector(name) if c in in_scope],
                media_type=MEDIA_TYPE,
                content=payload.canonical(),
                freshness_seconds=freshness,
            )
        except EvidenceError:
            raise
        except _SOURCE_ERRORS as exc:
            failed.append(NotCollected(collector=name, reason=f"{type(exc).__name__}: {str(exc)[:300]}"))
            continue
        collected.append(Collected(collector=name, sequence=item.sequence, sha256=item.sha256))
    return CollectionReport(at=moment, collected=tuple(collected), skipped=tuple(skipped), failed=tuple(failed))


def load_evidence(locker: EvidenceLocker, period: Period, kinds: Iterable[str] = ()) -> EvidenceSet:
    """Every compliance evidence item effective in the period (or only those of `kinds`), decoded and typed."""
    wanted = frozenset(kinds) or frozenset(PAYLOADS)
    items: list[Evidence] = []
    for item in locker.items(period.start, period.end, as_of=period.end):
        if item.collector not in wanted or item.collector not in PAYLOADS:
            continue
        try:
            with locker.open_content(item.sha256) as handle:
                content = handle.read()
        except (EvidenceError, OSError) as exc:
            raise CollectionError(f"evidence {item.sequence}: content unreadable: {exc}") from None
        items.append(
            Evidence.decode(
                id=str(item.sequence),
                kind=item.collector,
                effective_at=item.effective_at,
                sha256=item.sha256,
                content=content,
            )
        )
    return EvidenceSet(items)
