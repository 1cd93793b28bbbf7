"""Retention: delete daily indices past their age and record each deletion as an audit event.

The audit trail lives in `{namespace}-siem-audit` (never subject to retention), one document per deleted index,
written before the deletion so that a crash in between leaves a record of intent rather than a silent gap. The same
record goes to the audit sink (`index-deleted`, with the retention in force) so a rule sees a shortened retention.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from elasticsearch import Elasticsearch, NotFoundError

from edgeauth import AuditEvent, AuditSink
from siem.models import RetentionDeletion
from siem.templates import IndexLayout

_DAY = re.compile(r"-(\d{4}\.\d{2}\.\d{2})$")


def _index_day(name: str) -> date | None:
    match = _DAY.search(name)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y.%m.%d").replace(tzinfo=UTC).date()
    except ValueError:
        return None


class Retention:
    def __init__(self, es: Elasticsearch, layout: IndexLayout, audit: AuditSink | None = None) -> None:
        self.es = es
        self.layout = layout
        self._audit = audit

    def policy(self) -> dict[str, int]:
        """The configured retention, as compliance reports it."""
        return {
            "logs_days": self.layout.settings.retention_days,
            "deadletter_days": self.layout.settings.deadletter_retention_days,
        }

    def _expired(self, pattern: str, days: int, today: date) -> list[tuple[str, date, int]]:
        try:
            indices = self.es.cat.indices(index=pattern, format="json", h="index,docs.count", expand_wildcards="all")
        except NotFoundError:
            return []
        cutoff = today - timedelta(days=days)
        expired = []
        rows = cast(list[dict[str, Any]], indices.body)
        for row in rows:
            day = _index_day(str(row["index"]))
            if day is not None and day < cutoff:
                expired.append((str(row["index"]), day, int(row.get("docs.count") or 0)))
        return sorted(expired)

    def apply(self, today: date | None = None) -> list[RetentionDeletion]:
        """Delete every expired log and dead-letter index; returns the recorded deletions."""
        today = today or datetime.now(UTC).date()
        settings = self.layout.settings
        targets = [
            *((name, day, docs, settings.retention_days) for name, day, docs in
              self._expired(self.layout.logs_pattern, settings.retention_days, today)),
            *((name, day, docs, settings.deadletter_retention_days) for name, day, docs in
              self._expired(self.layout.deadletter_pattern, settings.deadletter_retention_days, today)),
        ]  # fmt: skip
        deletions = []
        for name, day, docs, days in targets:
            record = RetentionDeletion(
                timestamp=datetime.now(UTC), index=name, index_day=f"{day:%Y.%m.%d}", retention_days=days, docs=docs
            )
            self.es.index(
                index=self.layout.audit_index,
                id=hashlib.blake2b(name.encode(), digest_size=16).hexdigest(),
                document=_audit_document(record),
                refresh=True,
            )
            self.es.options(ignore_status=404).indices.delete(index=name)
            deletions.append(record)
        if self._audit is not None and deletions:
            self._audit.emit([_audit_event(d) for d in deletions])
        return deletions

    def log(self, *, since: datetime | None = None, limit: int = 1000) -> list[RetentionDeletion]:
        """The deletion log, newest first (what auditors ask for)."""
        query: dict[str, Any] = {"range": {"@timestamp": {"gte": since.isoformat()}}} if since else {"match_all": {}}
        try:
            response = self.es.search(
                index=self.layout.audit_index,
                query={"bool": {"filter": [query, {"term": {"event.action": "index-deleted"}}]}},
                size=limit,
                sort=[{"@timestamp": "desc"}],
            )
        except NotFoundError:
            return []
        records = []
        for hit in response["hits"]["hits"]:
            retention = hit["_source"]["vigil"]["retention"]
            records.append(
                RetentionDeletion(
                    timestamp=hit["_source"]["@timestamp"],
                    index=retention["index"],
                    index_day=retention["index_day"],
                    retention_days=retention["retention_days"],
                    docs=retention["docs"],
                )
            )
        return records


def _audit_event(record: RetentionDeletion) -> AuditEvent:
    return AuditEvent(
        timestamp=record.timestamp,
        provider="siem",
        action="index-deleted",
        category="configuration",
        type="deletion",
        target=f"index:{record.index}",
        reason=f"older than {record.retention_days} days",
        trigger="policy",
        after={"retention_days": record.retention_days, "docs": record.docs, "index_day": record.index_day},
    )


def _audit_document(record: RetentionDeletion) -> dict[str, Any]:
    return {
        "@timestamp": record.timestamp.isoformat(),
        "message": f"retention deleted index {record.index} ({record.docs} documents, older than "
        f"{record.retention_days} days)",
        "event": {"kind": "event", "category": ["configuration"], "action": "index-deleted"},
        "vigil": {
            "retention": {
                "index": record.index,
                "index_day": record.index_day,
                "retention_days": record.retention_days,
                "docs": record.docs,
            }
        },
    }
