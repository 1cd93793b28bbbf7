"""Building the compliance service from Vigil's settings: the one place that hands it the real sources."""

from __future__ import annotations

from compliance import Compliance, Sources
from compliance.transparency import Transparency
from detections import Detections
from edgeauth import AuditSink
from edgeauth.issuer import ClientRegistry
from edgeauth.keystore import KeyStore
from evidence import EvidenceArchive, EvidenceLocker
from siem import IndexLayout, Retention
from vigil import keyring
from vigil.clients import elasticsearch_client, redis_client
from vigil.detections_runtime import build_detections
from vigil.settings import VigilSettings


def build_compliance(
    settings: VigilSettings, audit: AuditSink | None = None, *, detections: Detections | None = None
) -> Compliance:
    """`detections`: the app's own service when it has one (one `Detections` per process), else one is built."""
    es = elasticsearch_client(settings)
    redis = redis_client(settings)
    locker = EvidenceLocker(es, redis, settings.evidence)
    registry = ClientRegistry.from_settings(settings.edgeauth, redis)
    detections = detections or build_detections(settings, audit)
    sources = Sources(
        settings=settings.compliance,
        es=es,
        locker=locker,
        edgeauth=settings.edgeauth,
        keys=KeyStore(redis, settings.edgeauth),
        clients=registry,
        siem=settings.siem,
        retention=Retention(es, IndexLayout(settings.siem), audit),
        detections=detections,
        alerts_index=detections.settings.alerts_index,
    )
    return Compliance(settings.compliance, es, locker, sources=sources, alerts=detections, audit=audit)


def build_transparency(
    settings: VigilSettings,
    audit: AuditSink | None = None,
    *,
    compliance: Compliance | None = None,
    detections: Detections | None = None,
    archive: EvidenceArchive | None = None,
) -> Transparency:
    """Transparency reports over the app's own services when it has them (else built here)."""
    detections = detections or build_detections(settings, audit)
    compliance = compliance or build_compliance(settings, audit, detections=detections)
    archive = archive or keyring.evidence_archive(settings, audit)
    return Transparency(compliance, detections, archive, version=archive.version, audit=audit)
