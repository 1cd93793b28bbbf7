"""`vigil rules test`: each rule gets a generated matching event sent through the real ingest into a scratch
prefix; the rule must raise its alert. The scratch indices and keys are removed afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import redis
from elasticsearch import Elasticsearch
from pydantic import BaseModel
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from detections.alerts.store import AlertStore
from detections.catalog.loader import RuleSet
from detections.engine.history import RunHistory
from detections.engine.runner import Engine
from detections.selftest.generate import generate
from detections.selftest.match import Unsupported
from detections.selftest.scratch import remove_prefix
from detections.settings import DetectionsSettings
from siem import Pipeline, SiemSettings


class RuleTest(BaseModel):
    rule_id: str
    title: str
    source: str
    outcome: str  # alerted | silent | not_generated
    reason: str | None = None


def _sigma_rule(source: str, rule_id: str) -> SigmaRule | None:
    for rule in SigmaCollection.load_ruleset([source]):
        if isinstance(rule, SigmaRule) and str(rule.id) == rule_id:
            return rule
    return None


def self_test(
    ruleset: RuleSet,
    settings: DetectionsSettings,
    es: Elasticsearch,
    redis_client: redis.Redis,
    prepare: Callable[[str], None],
) -> list[RuleTest]:
    """`prepare(namespace)` applies siem's and detections' indices in the scratch namespace (the composer's job)."""
    prefix = f"vigil-ruletest-{uuid.uuid4().hex[:8]}"
    scratch = settings.model_copy(update={"namespace": prefix, "ingest_delay_seconds": 0})
    pipeline = Pipeline(es, redis_client, SiemSettings(namespace=prefix))
    results: dict[str, RuleTest] = {}
    try:
        prepare(prefix)
        pipeline.setup()
        batches: dict[str, list[str]] = {}
        stamp = datetime.now(UTC)
        for rule in ruleset.rules.values():
            info = rule.info
            base = RuleTest(rule_id=info.id, title=info.title, source=info.source, outcome="not_generated")
            sigma_rule = _sigma_rule(info.source, info.id) if rule.query and not rule.new_terms else None
            if sigma_rule is None:
                results[info.id] = base.model_copy(update={"reason": "only detection rules are generated"})
                continue
            try:
                sample = generate(sigma_rule)
            except Unsupported as exc:
                results[info.id] = base.model_copy(update={"reason": str(exc)})
                continue
            batches.setdefault(sample.format, []).append(sample.line(stamp, request_id=f"ruletest-{info.id}"))
            results[info.id] = base.model_copy(update={"outcome": "silent"})
        for fmt, lines in batches.items():
            pipeline.push(fmt, lines)
        pipeline.drain()
        store = AlertStore(es, scratch.alerts_index, samples=scratch.samples_per_alert)
        history = RunHistory(es, scratch.runs_index, scratch.audit_index)
        # rules that only feed a correlation run on their own here, so each can be checked
        alone = {k: replace(r, info=r.info.model_copy(update={"standalone": True})) for k, r in ruleset.rules.items()}
        engine = Engine(scratch, es, redis_client, alone, store, history)
        engine.run_cycle(datetime.now(UTC) + timedelta(milliseconds=1), force=True)
        if es.indices.exists(index=scratch.alerts_index):
            silent = sorted(k for k, r in results.items() if r.outcome == "silent")
            answer = es.search(
                index=scratch.alerts_index,
                size=0,
                # one bucket per rule asked about: the size is their number, so none can be left out
                aggs={"rules": {"terms": {"field": "rule_id", "include": silent, "size": max(len(silent), 1)}}},
            )
            for bucket in answer["aggregations"]["rules"]["buckets"]:
                rule_id = str(bucket["key"])
                if rule_id in results and results[rule_id].outcome == "silent":
                    results[rule_id] = results[rule_id].model_copy(update={"outcome": "alerted"})
    finally:
        remove_prefix(es, redis_client, prefix)
    return sorted(results.values(), key=lambda r: (r.outcome, r.source))
