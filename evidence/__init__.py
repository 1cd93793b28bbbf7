"""Evidence: an append-only, hash-chained locker and signed bundles that auditors verify offline.

Collectors append with `EvidenceLocker.append(...)` and read with `EvidenceLocker.items(...)`;
`EvidenceArchive` adds bundles (in the shared store), signing keys (in Redis) and auditor downloads;
`create_router` is the auditor HTTP API.

Names load on first use: a process that needs one part (the edge verifier needs only the settings and the
stream writer) does not import the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evidence.archive import EvidenceArchive
    from evidence.bundle.keys import SigningKeyStore, load_public_pem
    from evidence.bundle.layout import REPORT_FORMAT
    from evidence.bundle.verify import verify_bundle
    from evidence.bundle.writer import BuiltBundle
    from evidence.canonical import canonical_json, rfc3339
    from evidence.engagement import Engagement, engagement_from_claims
    from evidence.errors import (
        BundleInvalidError,
        BundleNotFoundError,
        EngagementError,
        EvidenceError,
        InvalidEvidenceError,
        LockerBusyError,
        LockerIntegrityError,
        NoEvidenceError,
        SigningKeyError,
        StoreError,
    )
    from evidence.http import WELL_KNOWN_KEYS, bundle_response, create_public_router, create_router
    from evidence.locker import EvidenceLocker
    from evidence.locker.index import index_templates
    from evidence.models import (
        BundleInfo,
        ChainHead,
        EvidenceItem,
        EvidenceSpec,
        LockerReport,
        SigningKeyPublic,
        VerificationReport,
    )
    from evidence.settings import EvidenceSettings

__all__ = [
    "REPORT_FORMAT",
    "WELL_KNOWN_KEYS",
    "BuiltBundle",
    "BundleInfo",
    "BundleInvalidError",
    "BundleNotFoundError",
    "ChainHead",
    "Engagement",
    "EngagementError",
    "EvidenceArchive",
    "EvidenceError",
    "EvidenceItem",
    "EvidenceLocker",
    "EvidenceSettings",
    "EvidenceSpec",
    "InvalidEvidenceError",
    "LockerBusyError",
    "LockerIntegrityError",
    "LockerReport",
    "NoEvidenceError",
    "SigningKeyError",
    "SigningKeyPublic",
    "SigningKeyStore",
    "StoreError",
    "VerificationReport",
    "bundle_response",
    "canonical_json",
    "create_public_router",
    "create_router",
    "engagement_from_claims",
    "index_templates",
    "load_public_pem",
    "rfc3339",
    "verify_bundle",
]

# name -> (module, name there)
_MODULES = {
    "REPORT_FORMAT": ("evidence.bundle.layout", "REPORT_FORMAT"),
    "BuiltBundle": ("evidence.bundle.writer", "BuiltBundle"),
    "BundleInfo": ("evidence.models", "BundleInfo"),
    "BundleInvalidError": ("evidence.errors", "BundleInvalidError"),
    "BundleNotFoundError": ("evidence.errors", "BundleNotFoundError"),
    "ChainHead": ("evidence.models", "ChainHead"),
    "Engagement": ("evidence.engagement", "Engagement"),
    "EngagementError": ("evidence.errors", "EngagementError"),
    "EvidenceArchive": ("evidence.archive", "EvidenceArchive"),
    "EvidenceError": ("evidence.errors", "EvidenceError"),
    "EvidenceItem": ("evidence.models", "EvidenceItem"),
    "EvidenceLocker": ("evidence.locker", "EvidenceLocker"),
    "EvidenceSettings": ("evidence.settings", "EvidenceSettings"),
    "EvidenceSpec": ("evidence.models", "EvidenceSpec"),
    "InvalidEvidenceError": ("evidence.errors", "InvalidEvidenceError"),
    "SigningKeyError": ("evidence.errors", "SigningKeyError"),
    "StoreError": ("evidence.errors", "StoreError"),
    "bundle_response": ("evidence.http", "bundle_response"),
    "LockerBusyError": ("evidence.errors", "LockerBusyError"),
    "LockerIntegrityError": ("evidence.errors", "LockerIntegrityError"),
    "LockerReport": ("evidence.models", "LockerReport"),
    "NoEvidenceError": ("evidence.errors", "NoEvidenceError"),
    "SigningKeyPublic": ("evidence.models", "SigningKeyPublic"),
    "SigningKeyStore": ("evidence.bundle.keys", "SigningKeyStore"),
    "VerificationReport": ("evidence.models", "VerificationReport"),
    "WELL_KNOWN_KEYS": ("evidence.http", "WELL_KNOWN_KEYS"),
    "canonical_json": ("evidence.canonical", "canonical_json"),
    "create_public_router": ("evidence.http", "create_public_router"),
    "create_router": ("evidence.http", "create_router"),
    "engagement_from_claims": ("evidence.engagement", "engagement_from_claims"),
    "index_templates": ("evidence.locker.index", "index_templates"),
    "load_public_pem": ("evidence.bundle.keys", "load_public_pem"),
    "rfc3339": ("evidence.canonical", "rfc3339"),
    "verify_bundle": ("evidence.bundle.verify", "verify_bundle"),
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MODULES[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # once loaded, a plain module attribute
    return value
