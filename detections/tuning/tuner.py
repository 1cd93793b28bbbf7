"""Keeping a process's compiled rules in step with the analysts' exceptions, and counting what filters removed.

The facade calls `refresh` before every engine cycle and rule listing: at most every
`exceptions_refresh_seconds` it reads the exceptions in force; when that set changed (one added, deleted or
expired) the rule set is recompiled from its pristine sources. So an exception takes effect, and an expired or
deleted one stops suppressing, on every replica within that interval.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch
from sigma.rule import SigmaRule

from detections.catalog.compiled import CompiledRule
from detections.catalog.loader import RuleSet, recompile, rule_key
from detections.conversion.lucene import backend, to_lucene
from detections.engine.events import source_value
from detections.errors import ConversionError, LimitExceededError, QueryError
from detections.models import Alert, AlertExceptionCreate, ExceptionCreate, RuleException, RuleRun
from detections.settings import DetectionsSettings
from detections.tuning.exceptions import ExceptionStore, filter_yaml, new_id, tuning_filter
from detections.tuning.filters import filtered

_CLIPPED = "…"


class Tuner:
    def __init__(self, settings: DetectionsSettings, es: Elasticsearch, ruleset: RuleSet) -> None:
        self.settings = settings
        self.es = es
        self.ruleset = ruleset
        self.store = ExceptionStore(es, settings.exceptions_index)
        self._checked: datetime | None = None
        self._applied: tuple[tuple[str, str], ...] = ()

    def refresh(self, now: datetime, *, force: bool = False) -> bool:
        """True when the rule set was recompiled (the caller hands `self.ruleset.rules` to the engine)."""
        interval = self.settings.exceptions_refresh_seconds
        if not force and self._checked is not None and (now - self._checked).total_seconds() < interval:
            return False
        self._checked = now
        active = self.store.active(now)
        key = tuple((e.id, e.expires.isoformat() if e.expires else "") for e in active)
        if key == self._applied or not self.ruleset.sources:
            # nothing changed, or a rule set built in memory (tests) without sources to recompile from
            return False
        fresh = recompile(self.ruleset, self.settings, [tuning_filter(e) for e in active])
        self.ruleset.rules = fresh.rules
        self.ruleset.findings = fresh.findings
        self._applied = key
        return True

    def _source_rule(self, rule_id: str) -> SigmaRule:
        for parsed in self.ruleset.sources:
            if isinstance(parsed, SigmaRule) and rule_id in {rule_key(parsed), parsed.name}:
                return parsed
        compiled = self.ruleset.rules.get(rule_id)
        if compiled is not None and compiled.correlation is not None:
            parts = ", ".join(p.rule_id for p in compiled.correlation.parts)
            raise QueryError(f"rule {rule_id} is a correlation: add the exception to a rule it references ({parts})")
        raise QueryError(f"rule {rule_id!r} is not a loaded detection rule")

    def add(self, request: ExceptionCreate, actor: str, now: datetime) -> RuleException:
        if request.expires is not None:
            if request.expires.tzinfo is None:
                raise QueryError("expires must carry a time zone")
            if request.expires <= now:
                raise QueryError("expires must be in the future")
        if len(self.store.active(now)) >= self.settings.max_exceptions:
            raise LimitExceededError(
                f"{self.settings.max_exceptions} exceptions are in force: delete or let some expire first"
            )
        rule = self._source_rule(request.rule_id)
        exception_id = new_id()
        match = {f: sorted(set(v)) for f, v in request.match.items()}
        rule_id = rule_key(rule)
        sigma = filter_yaml(exception_id, rule, rule_id, match, request.reason, actor)
        exception = RuleException(
            id=exception_id,
            rule_id=rule_id,
            author=actor,
            reason=request.reason,
            created=now,
            expires=request.expires,
            match=match,
            sigma=sigma,
        )
        try:  # the filter must convert with the rule before it is stored: no exception can break a rule
            to_lucene(filtered(rule, [tuning_filter(exception)]), backend())
        except ConversionError as exc:
            raise QueryError(f"match: {exc}") from None
        self.store.put(exception)
        self.refresh(now, force=True)
        return exception

    def from_alert(self, alert: Alert, request: AlertExceptionCreate, actor: str, now: datetime) -> RuleException:
        """Values of `fields` (default: the rule's grouping fields) as the alert's sample events hold them."""
        compiled = self.ruleset.rules.get(alert.rule_id)
        if compiled is None:
            raise QueryError(f"alert {alert.id} comes from {alert.rule_id!r}, which is not a loaded rule")
        fields = request.fields or [f.removesuffix(".caseless") for f in compiled.group_by]
        match: dict[str, list[str]] = {}
        for name in fields:
            values = set()
            for event in alert.events:
                value = source_value(event.fields, name)
                for one in value if isinstance(value, list) else [value]:
                    if one is None:
                        continue
                    text = str(one)
                    if text.endswith(_CLIPPED) and len(text) > 512:
                        raise QueryError(f"{name}: the alert keeps only the start of this value; except another field")
                    values.add(text)
            if not values:
                raise QueryError(f"{name}: the alert's events do not carry this field")
            match[name] = sorted(values)
        create = ExceptionCreate(rule_id=alert.rule_id, reason=request.reason, expires=request.expires, match=match)
        return self.add(create, actor, now)

    def delete(self, exception_id: str, actor: str, now: datetime) -> RuleException:
        exception = self.store.get(exception_id)
        if exception.deleted_at is None:
            exception = exception.model_copy(update={"deleted_at": now, "deleted_by": actor})
            self.store.put(exception)
            self.refresh(now, force=True)
        return exception

    def suppressed(self, rule: CompiledRule, runs: list[RuleRun]) -> dict[str, int]:
        """Per filter of the rule: events it removed over the windows of the given runs since it was added."""
        indices = ",".join(self.settings.logs.dataset_pattern(d) for d in rule.datasets)
        asked: list[str] = []
        body: list[dict[str, Any]] = []
        for suppression in rule.suppressions:
            since = suppression.since
            tuned = [r for r in runs if since is None or r.started >= since]
            if not tuned:
                continue
            span = {
                "gte": min(r.window_start for r in tuned).isoformat(),
                "lt": max(r.window_end for r in tuned).isoformat(),
            }
            asked.append(suppression.filter_id)
            body.append({"index": indices, "ignore_unavailable": True, "allow_no_indices": True})
            body.append(
                {
                    "size": 0,
                    "track_total_hits": True,
                    "query": {
                        "bool": {
                            "filter": [
                                {"query_string": {"query": suppression.query}},
                                {"range": {"event.ingested": span}},
                            ]
                        }
                    },
                }
            )
        if not body:
            return {}
        responses = self.es.msearch(searches=body)["responses"]
        return {
            filter_id: int(r["hits"]["total"]["value"])
            for filter_id, r in zip(asked, responses, strict=True)
            if "error" not in r
        }
