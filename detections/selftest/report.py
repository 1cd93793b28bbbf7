"""The corpus report: for every rule under a path, did it load, convert, and run against Elasticsearch?

A rule that does not is listed with its reason; nothing is skipped silently.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

from elasticsearch import ApiError, Elasticsearch, TransportError
from pydantic import BaseModel

from detections.catalog.loader import load_rules
from detections.engine.searches import header
from detections.settings import DetectionsSettings

Status = Literal["ran", "load_error", "conversion_error", "search_error"]


class CorpusEntry(BaseModel):
    source: str
    rule_id: str | None
    title: str | None
    status: Status
    reason: str | None = None
    query: str | None = None


class CorpusReport(BaseModel):
    entries: list[CorpusEntry]

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(e.status for e in self.entries))

    def summary(self) -> str:
        c = self.counts
        return (
            f"{len(self.entries)} rules: {c.get('ran', 0)} load, convert and run; "
            f"{c.get('load_error', 0)} do not load; {c.get('conversion_error', 0)} do not convert; "
            f"{c.get('search_error', 0)} fail in Elasticsearch"
        )


def corpus_report(paths: list[Path], settings: DetectionsSettings, es: Elasticsearch) -> CorpusReport:
    own = settings.model_copy(update={"rule_paths": list(paths), "include_bundled": False})
    ruleset = load_rules(own)
    entries: list[CorpusEntry] = []
    for finding in ruleset.errors:
        status: Status = "conversion_error" if finding.code == "conversion" else "load_error"
        entries.append(
            CorpusEntry(
                source=finding.source, rule_id=finding.rule_id, title=None, status=status, reason=finding.message
            )
        )
    rules = list(ruleset.rules.values())
    body: list[dict[str, Any]] = []
    for rule in rules:
        for query in rule.info.queries:
            body.append(header(own, rule.datasets))
            body.append({"size": 0, "query": {"query_string": {"query": query}}})
    responses: list[dict[str, Any]] = []
    error: str | None = None
    if body:
        try:
            responses = list(es.msearch(searches=body)["responses"])
        except (ApiError, TransportError) as exc:
            error = f"msearch failed: {exc}"[:300]
    position = 0
    for rule in rules:
        problem = error
        for _ in rule.info.queries:
            response = responses[position] if position < len(responses) else {}
            position += 1
            if problem is None and "error" in response:
                cause = (response["error"].get("root_cause") or [response["error"]])[0]
                problem = f"{cause.get('type')}: {cause.get('reason')}"[:300]
        entries.append(
            CorpusEntry(
                source=rule.info.source,
                rule_id=rule.id,
                title=rule.info.title,
                status="search_error" if problem else "ran",
                reason=problem,
                query=" OR ".join(rule.info.queries),
            )
        )
    return CorpusReport(entries=sorted(entries, key=lambda e: (e.source, e.rule_id or "")))
