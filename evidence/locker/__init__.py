"""The append-only, hash-chained evidence locker."""

from evidence.locker.chain import entry_hash, record_digest
from evidence.locker.locker import EvidenceLocker, chained_document, check_entry, period_query

__all__ = ["EvidenceLocker", "chained_document", "check_entry", "entry_hash", "period_query", "record_digest"]
