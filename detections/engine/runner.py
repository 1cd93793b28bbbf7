"""One engine cycle: plan windows for due rules, run them in `_msearch` batches, record alerts and history."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from elasticsearch import ApiError, Elasticsearch, TransportError

from detections.alerts.store import AlertStore, Candidate
from detections.catalog.compiled import CompiledRule
from detections.engine import correlation, searches
from detections.engine.absence import absence_candidates, source_health
from detections.engine.history import RunHistory
from detections.engine.state import EngineState
from detections.engine.windows import Window, is_due, plan_windows
from detections.models import RuleRun, SourceHealth
from detections.settings import DetectionsSettings

MSEARCH_BATCH = 500


@dataclass
class _Job:
    rule: CompiledRule
    window: Window
    body: dict[str, Any]
    response: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    hits: int = 0
    candidates: list[Candidate] = field(default_factory=list)


@dataclass
class CycleReport:
    started: datetime
    skipped: bool = False
    runs: list[RuleRun] = field(default_factory=list)
    alerts_changed: int = 0
    health: list[SourceHealth] = field(default_factory=list)

    @property
    def errors(self) -> list[RuleRun]:
        return [r for r in self.runs if r.error]


def _error_text(response: dict[str, Any]) -> str:
    error = response.get("error", {})
    if isinstance(error, dict):
        cause = (error.get("root_cause") or [error])[0]
        return f"{cause.get('type', 'error')}: {cause.get('reason', '')}"[:500]
    return str(error)[:500]


class Engine:
    def __init__(
        self,
        settings: DetectionsSettings,
        es: Elasticsearch,
        redis_client: redis.Redis,
        rules: dict[str, CompiledRule],
        alerts: AlertStore,
        history: RunHistory,
    ) -> None:
        self.settings = settings
        self.es = es
        self.state = EngineState(redis_client, settings)
        self.rules = rules
        self.alerts = alerts
        self.history = history

    def _msearch(self, jobs: list[_Job]) -> None:
        for offset in range(0, len(jobs), MSEARCH_BATCH):
            batch = jobs[offset : offset + MSEARCH_BATCH]
            body: list[dict[str, Any]] = []
            for job in batch:
                body.append(searches.header(self.settings, job.rule.datasets))
                body.append(job.body)
            try:
                responses = self.es.msearch(searches=body)["responses"]
            except (ApiError, TransportError) as exc:
                for job in batch:
                    job.error = f"msearch failed: {exc}"[:500]
                continue
            for job, response in zip(batch, responses, strict=True):
                if "error" in response:
                    job.error = _error_text(response)
                else:
                    job.response = response

    def _body(self, rule: CompiledRule, window: Window) -> dict[str, Any]:
        if rule.correlation is not None:
            return correlation.search_body(rule, window, self.settings)
        if rule.new_terms:
            return searches.new_terms_body(rule, window, self.settings)
        return searches.simple_body(rule, window, self.settings)

    def _evaluate(self, jobs: list[_Job]) -> None:
        history_jobs: list[tuple[_Job, dict[tuple[str, ...], list[dict[str, Any]]]]] = []
        for job in jobs:
            if job.error:
                continue
            rule = job.rule
            if rule.correlation is not None:
                firings = correlation.evaluate(rule, job.response, self.settings)
                job.hits = sum(f.measure for f in firings)
                job.candidates = [
                    Candidate(
                        rule=rule.info,
                        group_key=f.group_key,
                        first_seen=f.first_seen,
                        last_seen=f.last_seen,
                        events=f.events,
                        suppress_seconds=rule.suppress_seconds,
                        summary=f"{rule.info.title}: {rule.correlation.type} {f.measure} for {f.group_key}",
                    )
                    for f in firings
                ]
            elif rule.new_terms:
                seen = searches.new_terms_window(rule, job.response)
                job.hits = len(seen)
                if seen:
                    history_jobs.append((job, seen))
            else:
                job.hits, job.candidates = searches.simple_candidates(rule, job.response)
        if not history_jobs:
            return
        lookups = [
            _Job(
                job.rule,
                job.window,
                searches.new_terms_history_body(job.rule, job.window, self.settings, sorted({c[0] for c in seen})),
            )
            for job, seen in history_jobs
        ]
        self._msearch(lookups)
        for (job, seen), lookup in zip(history_jobs, lookups, strict=True):
            if lookup.error:
                job.error = lookup.error
            else:
                job.candidates = searches.new_terms_candidates(job.rule, seen, lookup.response)

    def due_rules(self, now: datetime) -> list[CompiledRule]:
        disabled = self.state.disabled()
        last_runs = self.state.all_last_runs()
        return [
            r
            for r in self.rules.values()
            if r.info.standalone
            and r.id not in disabled
            and is_due(last_runs.get(r.id), now, timedelta(seconds=r.info.interval_seconds))
        ]

    def run_cycle(self, now: datetime | None = None, *, force: bool = False) -> CycleReport:
        """Run every due rule (every enabled rule with `force`) over its pending windows."""
        now = now or datetime.now(UTC)
        report = CycleReport(started=now)
        token = uuid.uuid4().hex
        if not self.state.acquire(token, ttl_seconds=max(300, self.settings.interval_seconds * 5)):
            report.skipped = True
            return report
        try:
            self._cycle(now, force, report)
        finally:
            self.state.release(token)
        return report

    def _plan(self, now: datetime, force: bool) -> tuple[list[CompiledRule], list[_Job]]:
        s = self.settings
        rules = (
            self.due_rules(now)
            if not force
            else [r for r in self.rules.values() if r.info.standalone and r.id not in self.state.disabled()]
        )
        checkpoints = self.state.all_checkpoints()
        jobs: list[_Job] = []
        for rule in rules:
            for window in plan_windows(
                checkpoints.get(rule.id),
                now,
                delay=timedelta(seconds=s.ingest_delay_seconds),
                initial_lookback=timedelta(seconds=s.initial_lookback_seconds),
                max_window=timedelta(seconds=s.max_window_seconds),
                max_windows=s.max_catch_up_windows,
            ):
                jobs.append(_Job(rule, window, self._body(rule, window)))
        return rules, jobs

    def planned_searches(self, now: datetime, *, force: bool = False) -> list[dict[str, Any]]:
        """The `_msearch` body the next cycle would send first (benchmarks compare against it)."""
        body: list[dict[str, Any]] = []
        for job in self._plan(now, force)[1]:
            body.append(searches.header(self.settings, job.rule.datasets))
            body.append(job.body)
        return body

    def _cycle(self, now: datetime, force: bool, report: CycleReport) -> None:
        s = self.settings
        rules, jobs = self._plan(now, force)
        if not rules:  # nothing due on this tick: no searches, no health check
            return
        clock = time.perf_counter()
        self._msearch(jobs)
        self._evaluate(jobs)
        all_candidates = [c for job in jobs for c in job.candidates]
        report.health = source_health(self.es, s, now)
        absent = absence_candidates(report.health, s, now)
        changed = self.alerts.record(all_candidates + absent, now)
        report.alerts_changed = sum(changed)
        elapsed_ms = (time.perf_counter() - clock) * 1000
        per_job_ms = elapsed_ms / max(len(jobs), 1)
        position = 0
        new_checkpoints: dict[str, datetime] = {}
        failed: set[str] = set()
        for job in jobs:
            job_changed = sum(changed[position : position + len(job.candidates)])
            position += len(job.candidates)
            report.runs.append(
                RuleRun(
                    rule_id=job.rule.id,
                    started=now,
                    window_start=job.window.start,
                    window_end=job.window.end,
                    duration_ms=float(job.response.get("took", 0)) or per_job_ms,
                    hits=job.hits,
                    alerts=job_changed,
                    error=job.error,
                )
            )
            # a failed window stops the rule's checkpoint there, so the span is retried, never skipped
            if job.error:
                failed.add(job.rule.id)
            elif job.rule.id not in failed:
                new_checkpoints[job.rule.id] = job.window.end
        self.history.write(report.runs)
        self.state.save(new_checkpoints, {r.id: now for r in rules})
