"""The collector contract, the sources a run may use, and the registry of collector names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from elasticsearch import Elasticsearch

from compliance.collectors.sources import ClientSource, KeySource, RetentionSource, RuleSource
from compliance.evidence import Payload
from compliance.settings import ComplianceSettings
from edgeauth import EdgeAuthSettings
from evidence import EvidenceLocker
from siem import SiemSettings


@dataclass
class Sources:
    """Every source a collection may read; a collector whose source is absent is reported as skipped."""

    settings: ComplianceSettings = field(default_factory=ComplianceSettings)
    es: Elasticsearch | None = None
    locker: EvidenceLocker | None = None
    edgeauth: EdgeAuthSettings | None = None
    keys: KeySource | None = None
    clients: ClientSource | None = None
    siem: SiemSettings | None = None
    retention: RetentionSource | None = None
    detections: RuleSource | None = None
    alerts_index: str | None = None


class Collector(Protocol):
    """Reads one source at one moment and returns a typed payload; it never judges (checks do)."""

    name: ClassVar[str]
    source_system: ClassVar[str]
    query: ClassVar[str]

    def parameters(self) -> dict[str, Any]: ...

    def collect(self, now: datetime) -> Payload: ...


CollectorFactory = Callable[[Sources], Collector | None]

COLLECTORS: dict[str, CollectorFactory] = {}


def register(name: str) -> Callable[[CollectorFactory], CollectorFactory]:
    def decorate(factory: CollectorFactory) -> CollectorFactory:
        if name in COLLECTORS:
            raise ValueError(f"collector {name} registered twice")
        COLLECTORS[name] = factory
        return factory

    return decorate
