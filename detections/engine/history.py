"""Run history per rule in `{namespace}-detections-runs`, plus the rule-change audit trail."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from detections.models import RuleRun


class RunHistory:
    def __init__(self, es: Elasticsearch, index: str, audit_index: str) -> None:
        self.es = es
        self.index = index
        self.audit_index = audit_index

    def write(self, runs: list[RuleRun]) -> None:
        if not runs:
            return
        actions = []
        for run in runs:
            doc = run.model_dump(mode="json")
            doc["has_error"] = run.error is not None
            key = f"{run.rule_id}|{run.window_start.isoformat()}|{run.started.isoformat()}"
            actions.append({"_index": self.index, "_id": hashlib.sha256(key.encode()).hexdigest()[:40], "_source": doc})
        helpers.bulk(self.es, actions)

    def runs(
        self, rule_id: str | None = None, *, since: datetime | None = None, errors_only: bool = False, limit: int = 50
    ) -> list[RuleRun]:
        if not self.es.indices.exists(index=self.index):
            return []
        filters: list[dict[str, Any]] = []
        if rule_id:
            filters.append({"term": {"rule_id": rule_id}})
        if since:
            filters.append({"range": {"started": {"gte": since.isoformat()}}})
        if errors_only:
            filters.append({"term": {"has_error": True}})
        # the engine writes without waiting for a refresh (hot path); a reader pays for it instead
        self.es.indices.refresh(index=self.index)
        response = self.es.search(
            index=self.index, query={"bool": {"filter": filters}}, sort=[{"started": "desc"}], size=limit
        )
        out = []
        for hit in response["hits"]["hits"]:
            source = dict(hit["_source"])
            source.pop("has_error", None)
            out.append(RuleRun.model_validate(source))
        return out

    def audit(
        self, actor: str, action: str, rule_id: str, at: datetime, detail: dict[str, Any], *, wait: bool = True
    ) -> None:
        """`wait=False` for reads audited on an analyst's request path (searches): no refresh wait."""
        self.es.index(
            index=self.audit_index,
            document={
                "@timestamp": at.isoformat(),
                "actor": actor,
                "action": action,
                "rule_id": rule_id,
                "detail": detail,
            },
            refresh="wait_for" if wait else None,
        )
