"""One engine cycle: plan windows for due rules, run them in `_msearch` batches, record alerts and history."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import redis
from elasticsearch import ApiError, Elasticsearch, TransportError

from detections.alerts.store import AlertStore, Candidate
from detections.catalog.compiled import CompiledRule
from detections.engine import searches
from detections.engine.absence import absence_candidates, source_health
from detections.engine.correlation import CorrelationSearch
from detections.engine.grouping import STORM_SAMPLE_GROUPS
from detections.engine.history import RunHistory
from detections.engine.samples import snapshots
from detections.engine.searches import NewTermsSearch, SimpleSearch
from detections.engine.state import EngineState
from detections.engine.storm import StormTally, storm_candidate
from detections.engine.windows import Window, is_due, plan_windows
from detections.models import RuleRun, SourceHealth
from detections.settings import DetectionsSettings

# Searches per `_msearch` request: a cycle sends all its pending pages in as many requests as needed.
MSEARCH_BATCH = 500


class PagedSearch(Protocol):
    """One rule over one window, driven page by page (`searches.py`, `correlation.py`)."""

    rule: CompiledRule
    window: Window

    @property
    def storm(self) -> StormTally | None: ...

    @property
    def storm_hits(self) -> list[dict[str, Any]]: ...

    @property
    def hits(self) -> int: ...

    def request(self) -> dict[str, Any] | None: ...

    def take(self, response: dict[str, Any]) -> None: ...

    def candidates(self) -> list[Candidate]: ...


@dataclass
class WindowResult:
    """What one rule found over one window: exact totals and one candidate alert per group.

    `groups` counts every group that matched; when more than `storm_groups` did, `candidates` holds the one
    alert-storm candidate instead and `folded_groups`/`folded_events` say what it stands for.
    """

    rule: CompiledRule
    window: Window
    hits: int = 0
    groups: int = 0
    pages: int = 0
    candidates: list[Candidate] = field(default_factory=list)
    folded_groups: int = 0
    folded_events: int = 0
    error: str | None = None


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


def search_for(rule: CompiledRule, window: Window, settings: DetectionsSettings) -> PagedSearch:
    if rule.correlation is not None:
        return CorrelationSearch(rule, window, settings)
    if rule.new_terms:
        return NewTermsSearch(rule, window, settings)
    return SimpleSearch(rule, window, settings)


def _fold(search: PagedSearch, result: WindowResult, settings: DetectionsSettings) -> None:
    """Every group becomes a candidate, unless there are more than `storm_groups`: then one storm candidate."""
    cap = settings.samples_per_alert
    if search.storm is not None:
        tally, samples = search.storm, snapshots(search.storm_hits, cap)
    else:
        candidates = search.candidates()
        result.groups = len(candidates)
        if len(candidates) <= settings.storm_groups:
            result.candidates = candidates
            return
        tally = StormTally()
        for c in candidates:
            tally.add(c.group_key, c.count, c.first_seen, c.last_seen)
        samples = [c.events[0] for c in candidates[:STORM_SAMPLE_GROUPS] if c.events][:cap]
    result.groups = result.folded_groups = tally.groups
    result.folded_events = tally.events
    result.candidates = [storm_candidate(search.rule, search.window, tally, samples)]


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

    def _msearch(self, batch: list[tuple[PagedSearch, dict[str, Any]]]) -> list[dict[str, Any]]:
        """One answer per (search, body), errors as `{"error": text}`; sent `MSEARCH_BATCH` at a time."""
        answers: list[dict[str, Any]] = []
        for offset in range(0, len(batch), MSEARCH_BATCH):
            chunk = batch[offset : offset + MSEARCH_BATCH]
            body: list[dict[str, Any]] = []
            for search, request in chunk:
                body.append(searches.header(self.settings, search.rule.datasets))
                body.append(request)
            try:
                responses = self.es.msearch(searches=body)["responses"]
            except (ApiError, TransportError) as exc:
                answers.extend({"error": f"msearch failed: {exc}"[:500]} for _ in chunk)
                continue
            answers.extend({"error": _error_text(r)} if "error" in r else r for r in responses)
        return answers

    def evaluate(self, pairs: list[tuple[CompiledRule, Window]]) -> list[WindowResult]:
        """Each rule over its explicit window [start, end) on `window.field`, all paged to the end together.

        The contract retro-hunts rely on (keep it stable): no checkpoint, no alert write, no state is touched;
        every group that matched gets a candidate with exact `count`, `first_seen` and `last_seen` (or the one
        alert-storm candidate past `storm_groups`), and candidates of the same events yield the same alert ids
        when recorded, so a hunt dedupes against the live engine.
        """
        jobs = [search_for(rule, window, self.settings) for rule, window in pairs]
        results = [WindowResult(rule, window) for rule, window in pairs]
        while True:
            pending = [
                (index, request)
                for index, job in enumerate(jobs)
                if results[index].error is None and (request := job.request()) is not None
            ]
            if not pending:
                break
            answers = self._msearch([(jobs[index], request) for index, request in pending])
            for (index, _), answer in zip(pending, answers, strict=True):
                if "error" in answer:
                    results[index].error = str(answer["error"])
                else:
                    jobs[index].take(answer)
                    results[index].pages += 1
        for job, result in zip(jobs, results, strict=True):
            if result.error is None:
                result.hits = job.hits
                _fold(job, result, self.settings)
        return results

    def evaluate_window(self, rule: CompiledRule, window: Window) -> WindowResult:
        """One rule over one explicit window (see `evaluate`): what a retro-hunt calls per rule and window."""
        return self.evaluate([(rule, window)])[0]

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

    def _plan(self, now: datetime, force: bool) -> tuple[list[CompiledRule], list[tuple[CompiledRule, Window]]]:
        s = self.settings
        rules = (
            self.due_rules(now)
            if not force
            else [r for r in self.rules.values() if r.info.standalone and r.id not in self.state.disabled()]
        )
        checkpoints = self.state.all_checkpoints()
        pairs: list[tuple[CompiledRule, Window]] = []
        for rule in rules:
            for window in plan_windows(
                checkpoints.get(rule.id),
                now,
                delay=timedelta(seconds=s.ingest_delay_seconds),
                initial_lookback=timedelta(seconds=s.initial_lookback_seconds),
                max_window=timedelta(seconds=s.max_window_seconds),
                max_windows=s.max_catch_up_windows,
            ):
                pairs.append((rule, window))
        return rules, pairs

    def planned_jobs(self, now: datetime, *, force: bool = False) -> list[PagedSearch]:
        """The searches the next cycle would run (benchmarks drive them directly, page by page)."""
        return [search_for(rule, window, self.settings) for rule, window in self._plan(now, force)[1]]

    def _cycle(self, now: datetime, force: bool, report: CycleReport) -> None:
        s = self.settings
        rules, pairs = self._plan(now, force)
        if not rules:  # nothing due on this tick: no searches, no health check
            return
        clock = time.perf_counter()
        results = self.evaluate(pairs)
        all_candidates = [c for r in results for c in r.candidates]
        report.health = source_health(self.es, s, now)
        absent = absence_candidates(report.health, s, now)
        changed = self.alerts.record(all_candidates + absent, now)
        report.alerts_changed = sum(changed)
        elapsed_ms = (time.perf_counter() - clock) * 1000
        per_job_ms = elapsed_ms / max(len(results), 1)
        position = 0
        new_checkpoints: dict[str, datetime] = {}
        failed: set[str] = set()
        storms: list[str] = []
        for result in results:
            job_changed = sum(changed[position : position + len(result.candidates)])
            position += len(result.candidates)
            if result.folded_groups:
                storms.append(result.rule.id)
            report.runs.append(
                RuleRun(
                    rule_id=result.rule.id,
                    started=now,
                    window_start=result.window.start,
                    window_end=result.window.end,
                    duration_ms=per_job_ms,
                    hits=result.hits,
                    alerts=job_changed,
                    error=result.error,
                    groups=result.groups,
                    pages=result.pages,
                    folded_groups=result.folded_groups,
                    folded_events=result.folded_events,
                )
            )
            # a failed window stops the rule's checkpoint there, so the span is retried, never skipped
            if result.error:
                failed.add(result.rule.id)
            elif result.rule.id not in failed:
                new_checkpoints[result.rule.id] = result.window.end
        self.history.write(report.runs)
        self.state.count_storms(storms)
        self.state.save(new_checkpoints, {r.id: now for r in rules})
