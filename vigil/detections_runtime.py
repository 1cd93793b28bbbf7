"""Building the detections service from Vigil's settings (the one place that knows both)."""

from __future__ import annotations

import os
from pathlib import Path

from detections import Detections, DetectionsSettings
from edgeauth import AuditSink
from vigil.clients import elasticsearch_client, redis_client
from vigil.indices import ensure_applied
from vigil.settings import VigilSettings


def detections_settings(settings: VigilSettings) -> DetectionsSettings:
    """`VIGIL_DETECTIONS__*` plus the folders of `VIGIL_RULE_PATHS` (':'-separated) after any already named."""
    extra = [Path(p) for p in settings.rule_paths.split(os.pathsep) if p.strip()]
    return settings.detections.model_copy(update={"rule_paths": [*settings.detections.rule_paths, *extra]})


def build_detections(settings: VigilSettings, audit: AuditSink | None = None) -> Detections:
    es = elasticsearch_client(settings)
    ensure_applied(es, settings)
    return Detections(detections_settings(settings), es, redis_client(settings), audit=audit)
