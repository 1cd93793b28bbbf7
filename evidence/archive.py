"""The evidence archive: the locker, the signing keys and the bundle catalog behind one object.

This is what the CLI and the HTTP adapter use; collectors that only append may use `EvidenceLocker` directly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import redis
from elasticsearch import Elasticsearch

from evidence.bundle.catalog import BundleCatalog
from evidence.bundle.keys import SigningKeyStore, load_public_pem
from evidence.bundle.verify import verify_bundle
from evidence.bundle.writer import BuiltBundle, build_bundle
from evidence.canonical import canonical_json, rfc3339
from evidence.engagement import Engagement
from evidence.errors import BundleNotFoundError, EngagementError
from evidence.locker import EvidenceLocker
from evidence.models import BundleInfo, EvidenceItem, SigningKeyPublic, VerificationReport
from evidence.settings import EvidenceSettings

BUNDLE_NAME = re.compile(r"^evidence-\d{8}T\d{6}Z-\d{8}T\d{6}Z-[0-9a-f]{12}\.zip$")
SELF = "vigil-evidence"
AUDIT_MEDIA_TYPE = "application/json"


class EvidenceArchive:
    def __init__(
        self, es: Elasticsearch, redis_client: redis.Redis, settings: EvidenceSettings, *, version: str = "0.1.0"
    ) -> None:
        self.settings = settings
        self.version = version
        self.locker = EvidenceLocker(es, redis_client, settings)
        self.keys = SigningKeyStore(settings.signing_key_dir, settings.key_passphrase)
        self.catalog = BundleCatalog(es, settings.bundle_index)

    def build_bundle(self, period_from: datetime, period_to: datetime, controls: tuple[str, ...] = ()) -> BuiltBundle:
        self.keys.ensure()
        built = build_bundle(
            self.locker,
            self.keys,
            period_from=period_from,
            period_to=period_to,
            controls=controls,
            out_dir=self.settings.bundle_dir,
            level=self.settings.compression_level,
            version=self.version,
        )
        self.catalog.add(built.info)
        return built

    def rotate_key(self) -> SigningKeyPublic:
        """Rotate the signing key and record the rotation in the locker (an auditor may ask about it)."""
        new, retired = self.keys.rotate()
        self._audit(
            "rotate-signing-key",
            {
                "event": "signing_key.rotated",
                "new_kid": new.kid,
                "new_public_key_pem": new.public_key_pem,
                "retired_kid": retired.kid if retired else None,
                "at": rfc3339(new.created_at),
            },
            {"kid": new.kid},
        )
        return new

    def public_keys(self) -> list[SigningKeyPublic]:
        self.keys.ensure()
        return self.keys.public_keys()

    def verify(self, path: Path, pubkey_pem: bytes | None = None) -> VerificationReport:
        if pubkey_pem is not None:
            return verify_bundle(
                path, pubkey=load_public_pem(pubkey_pem), max_manifest_bytes=self.settings.max_manifest_bytes
            )
        known = {k.kid: load_public_pem(k.public_key_pem.encode()) for k in self.keys.public_keys()}
        return verify_bundle(path, public_keys=known, max_manifest_bytes=self.settings.max_manifest_bytes)

    def bundles_for(self, engagement: Engagement | None) -> list[BundleInfo]:
        if engagement is None:
            return self.catalog.within(None, None)
        return self.catalog.within(engagement.start, engagement.end)

    def bundle_file(self, name: str, engagement: Engagement | None) -> tuple[Path, BundleInfo]:
        """The file of a listed bundle; anything else (unknown, outside the engagement, odd name) is not found."""
        if not BUNDLE_NAME.match(name):
            raise BundleNotFoundError(f"no bundle named {name!r}")
        info = self.catalog.get(name)
        if info is None or (engagement is not None and not engagement.covers_period(info.period_from, info.period_to)):
            raise BundleNotFoundError(f"no bundle named {name!r}")
        root = self.settings.bundle_dir.resolve()
        path = (root / name).resolve()
        if path.parent != root or not path.is_file():
            raise BundleNotFoundError(f"bundle {name!r} is catalogued but its file is gone")
        return path, info

    def check_request(self, engagement: Engagement | None, period_from: datetime, period_to: datetime) -> None:
        if engagement is not None and not engagement.covers_period(period_from, period_to):
            raise EngagementError("the requested period lies outside your engagement period")

    def record_download(
        self, *, subject: str, client_id: str, token_id: str, info: BundleInfo, byte_range: str | None
    ) -> EvidenceItem:
        """Every download is evidence too: who, when, which bundle (by digest), which bytes."""
        return self._audit(
            "download-bundle",
            {
                "event": "bundle.downloaded",
                "subject": subject,
                "client_id": client_id,
                "token_id": token_id,
                "bundle": info.name,
                "sha256": info.sha256,
                "range": byte_range,
                "at": rfc3339(datetime.now(UTC)),
            },
            {"bundle": info.name},
        )

    def download(
        self,
        name: str,
        engagement: Engagement | None,
        *,
        subject: str,
        client_id: str,
        token_id: str,
        byte_range: str | None,
    ) -> tuple[Path, BundleInfo]:
        """A bundle's file for a reader, recorded in the locker before any byte of it is served."""
        path, info = self.bundle_file(name, engagement)
        self.record_download(subject=subject, client_id=client_id, token_id=token_id, info=info, byte_range=byte_range)
        return path, info

    def _audit(self, query: str, content: dict[str, object], parameters: dict[str, object]) -> EvidenceItem:
        now = datetime.now(UTC)
        return self.locker.append(
            collector=SELF,
            collector_version=self.version,
            source_system="evidence",
            query=query,
            parameters=parameters,
            effective_at=now,
            collected_at=now,
            media_type=AUDIT_MEDIA_TYPE,
            content=canonical_json(content),
        )
