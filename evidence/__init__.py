"""Evidence: an append-only, hash-chained locker and signed bundles that auditors verify offline.

Collectors append with `EvidenceLocker.append(...)` and read with `EvidenceLocker.items(...)`;
`EvidenceArchive` adds bundles, signing keys and auditor downloads; `create_router` is the auditor HTTP API.
"""

from evidence.archive import EvidenceArchive
from evidence.bundle.keys import SigningKeyStore, load_public_pem
from evidence.bundle.verify import verify_bundle
from evidence.bundle.writer import BuiltBundle
from evidence.canonical import canonical_json
from evidence.engagement import Engagement, engagement_from_claims
from evidence.errors import (
    BundleInvalidError,
    BundleNotFoundError,
    EngagementError,
    EvidenceError,
    InvalidEvidenceError,
    KeyStoreError,
    LockerBusyError,
    LockerIntegrityError,
    NoEvidenceError,
)
from evidence.http import WELL_KNOWN_KEYS, create_public_router, create_router
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
    "KeyStoreError",
    "LockerBusyError",
    "LockerIntegrityError",
    "LockerReport",
    "NoEvidenceError",
    "SigningKeyPublic",
    "SigningKeyStore",
    "VerificationReport",
    "canonical_json",
    "create_public_router",
    "create_router",
    "engagement_from_claims",
    "index_templates",
    "load_public_pem",
    "verify_bundle",
]
