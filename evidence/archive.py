"""The evidence archive: the locker, the signing keys and the bundle catalog behind one object.

This is what the CLI and the HTTP adapter use; collectors that only append may use `EvidenceLocker` directly.
Content and bundles live in the shared blob store and the signing keys in Redis, so every replica of a process
holding an archive sees the same bundles and signs with the same key.
Downloads (and refused downloads) and key rotations also go to the audit sink as `file` events.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

import redis
from elasticsearch import Elasticsearch

from edgeauth import AuditEvent, AuditSink, Sealer
from evidence.bundle.catalog import BundleCatalog
from evidence.bundle.keys import SigningKeyStore, load_public_pem
from evidence.bundle.package import sign_package
from evidence.bundle.verify import verify_bundle
from evidence.bundle.writer import BuiltBundle, build_bundle
from evidence.canonical import canonical_json, rfc3339
from evidence.engagement import Engagement, current_engagement
from evidence.errors import BundleNotFoundError, EngagementError
from evidence.locker import EvidenceLocker
from evidence.models import BundleInfo, EvidenceItem, SigningKeyPublic, VerificationReport
from evidence.settings import EvidenceSettings
from evidence.store import open_stores

BUNDLE_NAME = re.compile(r"^evidence-\d{8}T\d{6}Z-\d{8}T\d{6}Z-[0-9a-f]{12}\.zip$")
SELF = "vigil-evidence"
AUDIT_MEDIA_TYPE = "application/json"


class EvidenceArchive:
    def __init__(
        self,
        es: Elasticsearch,
        redis_client: redis.Redis,
        settings: EvidenceSettings,
        sealer: Sealer | None = None,
        *,
        version: str = "0.1.0",
        audit: AuditSink | None = None,
    ) -> None:
        """`sealer` opens the signing keys (edgeauth's, with the KEK); without it bundles cannot be signed."""
        self.settings = settings
        self._audit_sink = audit
        self.version = version
        content, self.bundles = open_stores(es, settings)
        self.locker = EvidenceLocker(es, redis_client, settings, content)
        self.keys = SigningKeyStore(redis_client, settings.namespace, sealer)
        self.catalog = BundleCatalog(es, settings.bundle_index)

    def build_bundle(self, period_from: datetime, period_to: datetime, controls: tuple[str, ...] = ()) -> BuiltBundle:
        self.keys.ensure()
        built = build_bundle(
            self.locker,
            self.keys,
            period_from=period_from,
            period_to=period_to,
            controls=controls,
            store=self.bundles,
            level=self.settings.compression_level,
            version=self.version,
        )
        self.catalog.add(built.info)
        return built

    def sign_package(self, files: Sequence[tuple[str, bytes]], head: Mapping[str, Any]) -> bytes:
        """A small signed package (a client's transparency report) under the active bundle signing key, so the
        same `verify` and openssl procedure check it; nothing is stored (the caller hands the bytes out)."""
        self.keys.ensure()
        kid, private = self.keys.signer()
        return sign_package(files, head, kid=kid, private=private, level=self.settings.compression_level)

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
        self._emit(
            "evidence-key-rotated",
            f"evidence-key:{new.kid}",
            category="iam",
            before={"kid": retired.kid if retired else None},
            after={"kid": new.kid},
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

    def bundle_info(self, name: str, engagement: Engagement | None) -> BundleInfo:
        """A listed bundle; anything else (unknown, outside the engagement, odd name) is not found."""
        if not BUNDLE_NAME.match(name):
            raise BundleNotFoundError(f"no bundle named {name!r}")
        info = self.catalog.get(name)
        if info is None or (engagement is not None and not engagement.covers_period(info.period_from, info.period_to)):
            raise BundleNotFoundError(f"no bundle named {name!r}")
        return info

    def open_bundle(self, info: BundleInfo) -> BinaryIO:
        """The bundle's bytes from the shared store (seekable; checked against its digest as they are read)."""
        return self.bundles.open(info.sha256)

    def export_bundle(self, name: str, destination: Path) -> Path:
        """Copy a bundle out of the store to `destination` (a folder: the bundle's own name inside it)."""
        info = self.bundle_info(name, None)
        target = destination / info.name if destination.is_dir() else destination
        fd, scratch = tempfile.mkstemp(dir=target.parent, prefix=".export-")
        try:
            with os.fdopen(fd, "wb") as out, self.open_bundle(info) as source:
                while block := source.read(self.settings.chunk_bytes):
                    out.write(block)
            Path(scratch).replace(target)
        finally:
            Path(scratch).unlink(missing_ok=True)
        return target

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
        claims: dict[str, Any],
        *,
        subject: str,
        client_id: str,
        token_id: str,
        byte_range: str | None,
    ) -> BundleInfo:
        """A bundle for the holder of a token with these `claims`, its download recorded in the locker before any
        byte of it is served. A refusal (engagement not current, bundle outside it, unknown) is audited, then raised."""
        engagement: Engagement | None = None
        try:
            engagement = current_engagement(claims, datetime.now(UTC))
            info = self.bundle_info(name, engagement)
        except EngagementError as exc:
            self._refused(name, "engagement-not-current", str(exc), subject, client_id)
            raise
        except BundleNotFoundError as exc:
            outside = engagement is not None and bool(BUNDLE_NAME.match(name)) and self.catalog.get(name) is not None
            self._refused(name, "outside-engagement" if outside else "not-found", str(exc), subject, client_id)
            raise
        self.record_download(subject=subject, client_id=client_id, token_id=token_id, info=info, byte_range=byte_range)
        self._emit(
            "bundle-downloaded",
            f"bundle:{info.name}",
            type="access",
            actor=subject,
            client_id=client_id,
            after={"sha256": info.sha256, "range": byte_range},
        )
        return info

    def _refused(self, name: str, code: str, detail: str, subject: str, client_id: str) -> None:
        self._emit(
            "bundle-downloaded",
            f"bundle:{name[:200]}",
            type="denied",
            outcome="failure",
            actor=subject,
            client_id=client_id,
            reason=code,
            after={"detail": detail},
        )

    def _emit(
        self,
        action: str,
        target: str,
        *,
        category: Literal["file", "iam"] = "file",
        type: Literal["access", "denied", "change"] = "change",
        outcome: Literal["success", "failure"] = "success",
        actor: str | None = None,
        client_id: str | None = None,
        reason: str | None = None,
        before: dict[str, str | None] | None = None,
        after: dict[str, str | None] | None = None,
    ) -> None:
        if self._audit_sink is None:
            return
        self._audit_sink.emit(
            [
                AuditEvent(
                    timestamp=datetime.now(UTC),
                    provider="evidence",
                    action=action,
                    category=category,
                    type=type,
                    outcome=outcome,
                    actor=actor,
                    client_id=client_id,
                    target=target,
                    reason=reason,
                    before=dict(before) if before is not None else None,
                    after=dict(after) if after is not None else None,
                )
            ]
        )

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
