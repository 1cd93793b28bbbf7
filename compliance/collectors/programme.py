"""Collectors of the programme itself: evidence downloads (from the locker) and the thresholds in force."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from compliance.collectors.base import Sources, register
from compliance.evidence import ComplianceConfig, DownloadFacts, EvidenceDownloads
from compliance.settings import ComplianceSettings
from evidence import EvidenceLocker

DOWNLOAD_QUERY = "download-bundle"


@dataclass
class DownloadsCollector:
    name: ClassVar[str] = EvidenceDownloads.kind
    source_system: ClassVar[str] = "evidence"
    query: ClassVar[str] = "locker items of source_system=evidence, query=download-bundle, in [now-lookback_days, now)"
    locker: EvidenceLocker
    lookback_days: int

    def parameters(self) -> dict[str, Any]:
        return {"lookback_days": self.lookback_days}

    def collect(self, now: datetime) -> EvidenceDownloads:
        since = now - timedelta(days=self.lookback_days)
        downloads: list[DownloadFacts] = []
        for item in self.locker.items(since, now, as_of=now):
            if item.source_system != "evidence" or item.query != DOWNLOAD_QUERY:
                continue
            with self.locker.open_content(item.sha256) as handle:
                record = json.load(handle)
            downloads.append(
                DownloadFacts(
                    at=record["at"],
                    subject=record["subject"],
                    client_id=record["client_id"],
                    bundle=record["bundle"],
                    sha256=record["sha256"],
                )
            )
        return EvidenceDownloads(window_from=since, window_to=now, downloads=tuple(downloads))


@dataclass
class ConfigCollector:
    name: ClassVar[str] = ComplianceConfig.kind
    source_system: ClassVar[str] = "compliance"
    query: ClassVar[str] = "ComplianceSettings: scope and thresholds"
    settings: ComplianceSettings

    def parameters(self) -> dict[str, Any]:
        return {}

    def collect(self, now: datetime) -> ComplianceConfig:
        return ComplianceConfig(scope=tuple(sorted(self.settings.scope)), thresholds=self.settings.thresholds)


@register(EvidenceDownloads.kind)
def _downloads(sources: Sources) -> DownloadsCollector | None:
    return DownloadsCollector(sources.locker, sources.settings.lookback_days) if sources.locker else None


@register(ComplianceConfig.kind)
def _config(sources: Sources) -> ConfigCollector:
    return ConfigCollector(sources.settings)
