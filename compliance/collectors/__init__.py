"""Collectors: one module per source; each reads once and writes one evidence item with full provenance."""

from compliance.collectors import detections, edgeauth, programme, siem
from compliance.collectors.base import COLLECTORS, Collector, Sources
from compliance.collectors.runner import Collected, CollectionReport, NotCollected, collect, load_evidence
from compliance.collectors.sources import (
    ClientSource,
    ClientView,
    KeySource,
    RetentionSource,
    RuleSource,
    RuleView,
    RunView,
)

__all__ = [
    "COLLECTORS",
    "ClientSource",
    "ClientView",
    "Collected",
    "CollectionReport",
    "Collector",
    "KeySource",
    "NotCollected",
    "RetentionSource",
    "RuleSource",
    "RuleView",
    "RunView",
    "Sources",
    "collect",
    "detections",
    "edgeauth",
    "load_evidence",
    "programme",
    "siem",
]
