"""The detections facade: what `vigil`, the analyst API and compliance call. Clients are injected."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean
from typing import Any

import redis
from elasticsearch import Elasticsearch

from detections.alerts.store import AlertStore, Candidate
from detections.alerts.triage import Triage
from detections.analyst.hunts import Hunter, HuntJobs, Progress, hunt_windows, listed
from detections.analyst.moments import time_range
from detections.analyst.search import EventSearcher, ExportFormat
from detections.audit import audit_event
from detections.catalog.compiled import CompiledRule
from detections.catalog.loader import RuleSet, load_rules
from detections.engine.absence import source_health
from detections.engine.history import RunHistory
from detections.engine.runner import CycleReport, Engine
from detections.engine.state import EngineState
from detections.errors import AlertNotFoundError, DetectionsError, RuleNotFoundError
from detections.models import (
    Alert,
    AlertExceptionCreate,
    AlertFilter,
    AlertPage,
    EventPage,
    EventSearch,
    EventSnapshot,
    ExceptionCreate,
    FilterInfo,
    Finding,
    HuntJob,
    HuntRequest,
    HuntRuleResult,
    Level,
    RuleException,
    RuleInfo,
    RuleRun,
    SourceHealth,
    TriageTimes,
    Verdict,
)
from detections.settings import DetectionsSettings
from detections.tuning.tuner import Tuner
from edgeauth import AuditSink, AuditValue
from siem import TimeSeries, time_histogram


class Detections:
    """Rules, engine, alerts and triage over one Elasticsearch and one Redis."""

    def __init__(
        self,
        settings: DetectionsSettings,
        es: Elasticsearch,
        redis_client: redis.Redis,
        *,
        ruleset: RuleSet | None = None,
        extra_rule_paths: list[Path] | None = None,
        audit: AuditSink | None = None,
    ) -> None:
        self.settings = settings
        self._audit_sink = audit
        self.es = es
        self.ruleset = ruleset if ruleset is not None else load_rules(settings, extra_rule_paths)
        self.store = AlertStore(es, settings.alerts_index, samples=settings.samples_per_alert)
        self.history = RunHistory(es, settings.runs_index, settings.audit_index)
        self.state = EngineState(redis_client, settings)
        self.engine = Engine(settings, es, redis_client, self.ruleset.rules, self.store, self.history)
        self.triage = Triage(self.store, audit)
        self.searcher = EventSearcher(es, settings)
        self.tuner = Tuner(settings, es, self.ruleset)
        self.hunt_jobs = HuntJobs(es, settings.hunts_index)
        self.hunter = Hunter(settings, self.engine, self.store)
        #: hands a stored hunt job to a worker (`vigil` wires Celery's `send_task`); None: hunts run in the CLI only
        self.hunt_launcher: Callable[[str], None] | None = None

    def _tune(self, now: datetime) -> None:
        """Apply the analysts' exceptions in force now (re-read at most every `exceptions_refresh_seconds`)."""
        if self.tuner.refresh(now):
            self.engine.rules = self.ruleset.rules

    def _audit(
        self,
        actor: str,
        action: str,
        target: str,
        detail: dict[str, Any],
        *,
        wait: bool = True,
        before: dict[str, AuditValue] | None = None,
        after: dict[str, AuditValue] | None = None,
    ) -> None:
        """The one door for this package's audit events (rule changes, exceptions, hunts, searches): kept in the
        detections audit index and handed to the audit sink, so the SIEM sees a disabled or loosened rule."""
        now = datetime.now(UTC)
        self.history.audit(actor, action, target, now, detail, wait=wait)
        if self._audit_sink is not None:
            self._audit_sink.emit([audit_event(actor, action, target, detail, now, before=before, after=after)])

    # -- rules -------------------------------------------------------------------------------------------------

    @property
    def findings(self) -> list[Finding]:
        return list(self.ruleset.findings)

    def _compiled(self, rule_id: str) -> CompiledRule:
        rule = self.ruleset.rules.get(rule_id)
        if rule is None:
            by_name = [r for r in self.ruleset.rules.values() if r.info.name == rule_id]
            if not by_name:
                raise RuleNotFoundError(f"no loaded rule with id or name {rule_id!r}")
            rule = by_name[0]
        return rule

    def rules(self, health: list[SourceHealth] | None = None) -> list[RuleInfo]:
        self._tune(datetime.now(UTC))
        disabled = self.state.disabled()
        silent = {h.dataset for h in (health if health is not None else self.source_health()) if h.silent}
        return [
            r.info.model_copy(update={"enabled": r.id not in disabled, "blind": any(d in silent for d in r.datasets)})
            for r in sorted(self.ruleset.rules.values(), key=lambda r: (r.info.title, r.id))
        ]

    def rule(self, rule_id: str) -> RuleInfo:
        wanted = self._compiled(rule_id).id
        return next(r for r in self.rules() if r.id == wanted)

    def enabled_rules(self) -> list[RuleInfo]:
        return [r for r in self.rules() if r.enabled and r.standalone]

    def set_enabled(self, rule_id: str, enabled: bool, actor: str) -> RuleInfo:
        rule = self._compiled(rule_id)
        was_enabled = rule.id not in self.state.disabled()
        self.state.set_enabled(rule.id, enabled)
        self._audit(
            actor,
            "enable" if enabled else "disable",
            rule.id,
            {"enabled": enabled},
            before={"enabled": was_enabled, "level": rule.info.level.value},
            after={"enabled": enabled, "level": rule.info.level.value},
        )
        return self.rule(rule.id)

    def source_health(self, now: datetime | None = None) -> list[SourceHealth]:
        return source_health(self.es, self.settings, now or datetime.now(UTC))

    # -- engine ------------------------------------------------------------------------------------------------

    def run_cycle(self, now: datetime | None = None, *, force: bool = False) -> CycleReport:
        self._tune(now or datetime.now(UTC))
        return self.engine.run_cycle(now, force=force)

    def run_history(
        self, rule_id: str | None = None, *, since: datetime | None = None, limit: int = 50
    ) -> list[RuleRun]:
        if rule_id is not None:
            rule_id = self._compiled(rule_id).id
        return self.history.runs(rule_id, since=since, limit=limit)

    def storms(self) -> dict[str, int]:
        """Alert storms per rule id since the counters began (also `vigil_detections_alert_storms_total`)."""
        return self.state.storms()

    def failures(self, since: datetime | None = None, limit: int = 200) -> list[RuleRun]:
        return self.history.runs(since=since, errors_only=True, limit=limit)

    # -- tuning ------------------------------------------------------------------------------------------------

    def _exception_audit(self, actor: str, action: str, exception: RuleException) -> None:
        detail = {
            "exception_id": exception.id,
            "reason": exception.reason,
            "match": exception.match,
            "expires": exception.expires.isoformat() if exception.expires else None,
        }
        self._audit(actor, action, exception.rule_id, detail)

    def add_exception(self, request: ExceptionCreate, actor: str) -> RuleException:
        """A Sigma filter for one rule, in force on every replica within `exceptions_refresh_seconds`; audited."""
        request = request.model_copy(update={"rule_id": self._compiled(request.rule_id).id})
        exception = self.tuner.add(request, actor, datetime.now(UTC))
        self.engine.rules = self.ruleset.rules
        self._exception_audit(actor, "exception_add", exception)
        return exception

    def exception_from_alert(self, alert_id: str, request: AlertExceptionCreate, actor: str) -> RuleException:
        exception = self.tuner.from_alert(self.alert(alert_id), request, actor, datetime.now(UTC))
        self.engine.rules = self.ruleset.rules
        self._exception_audit(actor, "exception_add", exception)
        return exception

    def delete_exception(self, exception_id: str, actor: str) -> RuleException:
        """Soft delete: the exception stops suppressing, its record (and audit trail) stays."""
        exception = self.tuner.delete(exception_id, actor, datetime.now(UTC))
        self.engine.rules = self.ruleset.rules
        self._exception_audit(actor, "exception_delete", exception)
        return exception

    def exceptions(self, rule_id: str | None = None) -> list[RuleException]:
        return self.tuner.store.all(self._compiled(rule_id).id if rule_id else None)

    def rule_filters(self, rule_id: str, runs: list[RuleRun]) -> list[FilterInfo]:
        """The filters tuning a rule, each with the events it suppressed over the span of `runs`."""
        self._tune(datetime.now(UTC))
        rule = self._compiled(rule_id)
        counts = self.tuner.suppressed(rule, runs)
        return [f.model_copy(update={"suppressed": counts.get(f.id)}) for f in rule.info.filters]

    # -- retro-hunts -------------------------------------------------------------------------------------------

    def _hunt_job(self, request: HuntRequest, actor: str) -> tuple[HuntJob, list[CompiledRule]]:
        now = datetime.now(UTC)
        start, end = time_range(request.start, request.end, now)
        hunt_windows(start, end, self.settings)  # refuses a span past the limit before anything is stored
        self._tune(now)
        if request.rules:
            rules = list({r.id: r for r in (self._compiled(i) for i in request.rules)}.values())
        else:
            enabled = {r.id for r in self.enabled_rules()}
            rules = [r for r in self.ruleset.rules.values() if r.id in enabled]
        job = HuntJob(
            id=uuid.uuid4().hex,
            actor=actor,
            start=start,
            end=end,
            rules=[r.id for r in rules],
            dry_run=request.dry_run,
            created=now,
        )
        detail = {"hunt_id": job.id, "from": start.isoformat(), "to": end.isoformat(), "dry_run": job.dry_run}
        self._audit(actor, "hunt_run", ",".join(job.rules)[:1000] or "-", detail)
        return job, rules

    def hunt(self, request: HuntRequest, actor: str, progress: Progress | None = None) -> HuntJob:
        """Run a hunt here and now (the CLI): `progress` sees the job after every window; audited."""
        job, rules = self._hunt_job(request, actor)
        return self.hunter.run(job, rules, progress or (lambda _: None), lambda: datetime.now(UTC))

    def start_hunt(self, request: HuntRequest, actor: str) -> HuntJob:
        """Store a queued hunt job and hand it to a worker (the API): the request returns at once."""
        if self.hunt_launcher is None:
            raise DetectionsError("no worker queue is configured for hunts here; run `vigil detections run`")
        job, _ = self._hunt_job(request, actor)
        self.hunt_jobs.put(job)
        self.hunt_launcher(job.id)
        return job

    def run_hunt_job(self, job_id: str) -> HuntJob:
        """What the worker runs: the stored job to the end, its progress and results kept on the job document."""
        job = self.hunt_jobs.get(job_id)
        if job.status != "queued":
            return job
        self._tune(datetime.now(UTC))
        rules = [self.ruleset.rules[r] for r in job.rules if r in self.ruleset.rules]
        groups = self.settings.hunt_groups_listed
        try:
            done = self.hunter.run(
                job, rules, lambda j: self.hunt_jobs.put(listed(j, groups)), lambda: datetime.now(UTC)
            )
        except Exception as exc:  # the job must say it failed, whatever failed, before the task ends
            failed = job.model_copy(
                update={
                    "status": "failed",
                    "finished": datetime.now(UTC),
                    "error": f"{type(exc).__name__}: {exc}"[:500],
                }
            )
            self.hunt_jobs.put(failed)
            raise
        # a rule the API process had but this worker did not load (other rule paths) is said, never skipped
        missing = [
            HuntRuleResult(rule_id=r, title="", errors=["this rule is not loaded on the worker that ran the hunt"])
            for r in job.rules
            if r not in self.ruleset.rules
        ]
        done = done.model_copy(update={"results": done.results + missing})
        self.hunt_jobs.put(listed(done, groups))
        return done

    def hunt_job(self, job_id: str) -> HuntJob:
        return self.hunt_jobs.get(job_id)

    # -- event search ------------------------------------------------------------------------------------------

    def _search_detail(self, search: EventSearch) -> dict[str, Any]:
        return {
            "query": search.query[:2000],
            "from": search.start.isoformat(),
            "to": search.end.isoformat(),
            "datasets": search.datasets,
            "fields": search.fields,
        }

    def search_events(self, search: EventSearch, actor: str) -> EventPage:
        """One page of events; every search, answered or refused, is an audit event."""
        detail = self._search_detail(search) | {"page": bool(search.after)}
        try:
            page = self.searcher.page(search)
        except DetectionsError as exc:
            self._audit(actor, "event_search", "events", detail | {"refused": str(exc)}, wait=False)
            raise
        self._audit(actor, "event_search", "events", detail | {"total": page.total}, wait=False)
        return page

    def export_events(self, search: EventSearch, fmt: ExportFormat, actor: str) -> tuple[int, Iterator[str]]:
        """(total, lines) of an export (audited like a search); refused before the first byte if past a limit."""
        detail = self._search_detail(search) | {"export": fmt}
        try:
            total, lines = self.searcher.export(search, fmt)
        except DetectionsError as exc:
            self._audit(actor, "event_export", "events", detail | {"refused": str(exc)}, wait=False)
            raise
        self._audit(actor, "event_export", "events", detail | {"total": total}, wait=False)
        return total, lines

    # -- alerts ------------------------------------------------------------------------------------------------

    def alerts_by_level(self, days: int, now: datetime | None = None) -> TimeSeries:
        """Alerts first seen over the last `days`, per level and time bucket (the console's overview chart)."""
        return time_histogram(
            self.es, self.settings.alerts_index, time_field="first_seen", split_field="level", days=days, now=now
        )

    def alerts(self, flt: AlertFilter) -> AlertPage:
        return self.store.search(flt)

    def alert(self, alert_id: str) -> Alert:
        return self.store.get(alert_id)

    def alerts_touching(self, clients: list[str], start: datetime, end: datetime) -> list[Alert]:
        """Every alert whose events name one of these OAuth clients, active in [start, end), oldest first."""
        return self.store.touching(clients, start, end)

    def alert_events(self, alert: Alert) -> list[dict[str, Any]]:
        """The matched events as stored in the logs (those still retained), else their snapshots."""
        real_ids = [i for i in alert.event_ids if not i.startswith("absence:")]
        found: dict[str, dict[str, Any]] = {}
        if real_ids:
            response = self.es.search(
                index=self.settings.logs.logs_pattern,
                ignore_unavailable=True,
                allow_no_indices=True,
                query={"ids": {"values": real_ids}},
                size=len(real_ids),
                source_excludes=["event.original"],
            )
            found = {h["_id"]: dict(h["_source"]) for h in response["hits"]["hits"]}
        return [found.get(e.id, {"snapshot": e.fields}) | {"_id": e.id} for e in alert.events]

    def acknowledge(self, alert_id: str, actor: str, *, note: str | None = None, assignee: str | None = None) -> Alert:
        return self.triage.acknowledge(alert_id, actor, datetime.now(UTC), note=note, assignee=assignee)

    def resolve(self, alert_id: str, actor: str, verdict: Verdict, *, note: str | None = None) -> Alert:
        return self.triage.resolve(alert_id, actor, datetime.now(UTC), verdict, note=note)

    def assign(self, alert_id: str, actor: str, assignee: str | None) -> Alert:
        return self.triage.assign(alert_id, actor, datetime.now(UTC), assignee)

    def add_note(self, alert_id: str, actor: str, text: str) -> Alert:
        return self.triage.note(alert_id, actor, datetime.now(UTC), text)

    def bulk_acknowledge(self, ids: list[str], actor: str, note: str | None = None) -> dict[str, str]:
        return self.triage.bulk_acknowledge(ids, actor, datetime.now(UTC), note)

    # -- compliance --------------------------------------------------------------------------------------------

    def triage_times(self, since: datetime | None = None) -> list[TriageTimes]:
        """Per level: resolved alerts and their mean time to acknowledge and to resolve (seconds)."""
        resolved = self.store.all_resolved(since)
        out = []
        for level in Level:
            alerts = [a for a in resolved if a.level == level]
            to_ack = [(a.acknowledged_at - a.created).total_seconds() for a in alerts if a.acknowledged_at]
            to_resolve = [(a.resolved_at - a.created).total_seconds() for a in alerts if a.resolved_at]
            out.append(
                TriageTimes(
                    level=level,
                    resolved=len(alerts),
                    mean_seconds_to_ack=mean(to_ack) if to_ack else None,
                    mean_seconds_to_resolve=mean(to_resolve) if to_resolve else None,
                    max_seconds_to_resolve=max(to_resolve) if to_resolve else None,
                )
            )
        return out

    def raise_alert(
        self,
        *,
        key: str,
        title: str,
        level: Level,
        summary: str,
        group_key: str,
        evidence: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Alert:
        """An alert of category `compliance` (a failing control); the same key and group update one open alert."""
        now = datetime.now(UTC)
        info = RuleInfo(
            id=f"compliance:{key}",
            title=title,
            level=level,
            tags=tags or [],
            dataset="compliance",
            kind="simple",
            source="<compliance>",
            interval_seconds=self.settings.interval_seconds,
        )
        event = EventSnapshot(
            id=f"compliance:{key}:{group_key}:{now.isoformat()}", timestamp=now, fields=evidence or {}
        )
        candidate = Candidate(
            rule=info,
            group_key=group_key,
            first_seen=now,
            last_seen=now,
            count=1,
            events=[event],
            suppress_seconds=self.settings.suppress_seconds,
            detail=summary,
            category="compliance",
        )
        self.store.record([candidate], now)
        alert = self.store.latest(info.id, group_key)
        if alert is None:
            raise AlertNotFoundError(f"the compliance alert {key}/{group_key} was not stored")
        return alert
