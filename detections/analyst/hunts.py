"""Retro-hunts: rules over data already ingested, by `@timestamp`, in bounded windows.

Each window runs every hunted rule through the engine's `evaluate` (the same searches, paging and exact facts as
the live engine; no checkpoint or rule state is touched). Candidates are tagged as hunt results and written
through the same alert store, so their deterministic ids land on the alerts the live engine made; a candidate
whose rule and group already have an alert covering its whole span and holding at least its count (or resolved:
a resolved alert stays as it was closed) is counted as `already_alerted` and not written again, so re-running a
hunt changes nothing. An open alert that counted fewer of those events is raised to the hunt's count by the store.

The CLI runs a hunt in-process with a progress bar; the API stores a job that a worker runs (`tasks.py`), and
the job document carries the progress and results every replica can read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from detections.alerts.store import LOOKUP_CHUNK, OPEN, AlertStore, Candidate
from detections.catalog.compiled import CompiledRule
from detections.engine.runner import Engine
from detections.engine.windows import Window
from detections.errors import HuntNotFoundError, LimitExceededError
from detections.models import HuntJob, HuntRuleResult
from detections.settings import DetectionsSettings

HUNT_CATEGORY = "hunt"

Progress = Callable[[HuntJob], None]


def hunt_windows(start: datetime, end: datetime, settings: DetectionsSettings) -> list[Window]:
    """Consecutive `@timestamp` windows of `hunt_window_seconds` covering [start, end) exactly."""
    if end - start > timedelta(days=settings.hunt_max_span_days):
        raise LimitExceededError(f"a hunt covers at most {settings.hunt_max_span_days} days; split it")
    step = timedelta(seconds=settings.hunt_window_seconds)
    windows = []
    cursor = start
    while cursor < end:
        windows.append(Window(cursor, min(cursor + step, end), "@timestamp"))
        cursor += step
    return windows


class HuntJobs:
    """Hunt jobs in Elasticsearch: written by whoever starts or runs a hunt, read by every replica."""

    def __init__(self, es: Elasticsearch, index: str) -> None:
        self.es = es
        self.index = index

    def put(self, job: HuntJob) -> None:
        self.es.index(index=self.index, id=job.id, document=job.model_dump(mode="json"), refresh="wait_for")

    def get(self, job_id: str) -> HuntJob:
        try:
            hit = self.es.get(index=self.index, id=job_id)
        except NotFoundError:
            raise HuntNotFoundError(f"no hunt with id {job_id!r}") from None
        return HuntJob.model_validate(hit["_source"])


def _known(store: AlertStore, candidates: list[Candidate]) -> list[bool]:
    """For each candidate: an alert of its rule and group already covers its whole span, and holds at least its
    count or is closed (a resolved alert is left as the analyst closed it). An open alert holding fewer events
    is not known: the candidate goes to the store, whose merge raises the alert's count to the hunt's."""
    if not candidates or not store.es.indices.exists(index=store.index):
        return [False] * len(candidates)
    spans: dict[tuple[str, str], list[tuple[datetime, datetime, int, bool]]] = {}
    for offset in range(0, len(candidates), LOOKUP_CHUNK):
        chunk = candidates[offset : offset + LOOKUP_CHUNK]
        after: list[Any] | None = None
        while True:
            extra: dict[str, Any] = {"search_after": after} if after else {}
            hits = store.es.search(
                index=store.index,
                size=LOOKUP_CHUNK,
                sort=[{"id": "asc"}],
                source_includes=["rule_id", "group_key", "first_seen", "last_seen", "count", "status"],
                query={
                    "bool": {
                        "filter": [
                            {"terms": {"rule_id": sorted({c.rule.id for c in chunk})}},
                            {"terms": {"group_key": sorted({c.group_key for c in chunk})}},
                        ]
                    }
                },
                **extra,
            )["hits"]["hits"]
            for hit in hits:
                s = hit["_source"]
                first, last = datetime.fromisoformat(s["first_seen"]), datetime.fromisoformat(s["last_seen"])
                span = (first, last, int(s["count"]), s["status"] in OPEN)
                spans.setdefault((s["rule_id"], s["group_key"]), []).append(span)
            if len(hits) < LOOKUP_CHUNK:
                break
            after = hits[-1]["sort"]
    return [
        any(
            first <= c.first_seen and c.last_seen <= last and (c.count <= count or not is_open)
            for first, last, count, is_open in spans.get((c.rule.id, c.group_key), [])
        )
        for c in candidates
    ]


def listed(job: HuntJob, groups: int) -> HuntJob:
    """The job as stored: at most `groups` groups listed per rule (the largest), the rest counted, never dropped."""
    results = []
    for result in job.results:
        kept = dict(list(result.by_group.items())[:groups])
        results.append(result.model_copy(update={"by_group": kept, "groups_not_listed": result.groups - len(kept)}))
    return job.model_copy(update={"results": results})


class Hunter:
    def __init__(self, settings: DetectionsSettings, engine: Engine, store: AlertStore) -> None:
        self.settings = settings
        self.engine = engine
        self.store = store

    def _tagged(self, candidate: Candidate, job: HuntJob) -> Candidate:
        tags = [*candidate.rule.tags, f"vigil.hunt.{job.id}"]
        category = HUNT_CATEGORY if candidate.category == "detection" else candidate.category
        return replace(candidate, rule=candidate.rule.model_copy(update={"tags": tags}), category=category)

    def run(self, job: HuntJob, rules: list[CompiledRule], progress: Progress, now: Callable[[], datetime]) -> HuntJob:
        """Run the hunt to the end, calling `progress` after every window; the job comes back `done`."""
        windows = hunt_windows(job.start, job.end, self.settings)
        results = {r.id: HuntRuleResult(rule_id=r.id, title=r.info.title) for r in rules}
        groups: dict[str, dict[str, int]] = {r.id: {} for r in rules}
        job = job.model_copy(update={"status": "running", "started": now(), "windows_total": len(windows)})
        progress(job)
        clock = time.perf_counter()
        for index, window in enumerate(windows):
            outcomes = self.engine.evaluate([(rule, window) for rule in rules])
            fresh: list[Candidate] = []
            for outcome in outcomes:
                result = results[outcome.rule.id]
                if outcome.error:
                    result.errors.append(f"{window.start.isoformat()}: {outcome.error}"[:500])
                    continue
                result.hits += outcome.hits
                for candidate in outcome.candidates:
                    per_group = groups[outcome.rule.id]
                    per_group[candidate.group_key] = per_group.get(candidate.group_key, 0) + candidate.count
                fresh.extend(self._tagged(c, job) for c in outcome.candidates)
            if not job.dry_run and fresh:
                known = _known(self.store, fresh)
                new = [c for c, seen in zip(fresh, known, strict=True) if not seen]
                for c, seen in zip(fresh, known, strict=True):
                    results[c.rule.id].already_alerted += int(seen)
                changed = self.store.record(new, now()) if new else []
                for c, flag in zip(new, changed, strict=True):
                    results[c.rule.id].alerts_changed += flag
            job = job.model_copy(
                update={"windows_done": index + 1, "seconds": time.perf_counter() - clock, "results": []}
            )
            progress(job)
        for rule_id, result in results.items():
            ordered = sorted(groups[rule_id].items(), key=lambda kv: (-kv[1], kv[0]))
            result.groups = len(ordered)
            result.by_group = dict(ordered)
        return job.model_copy(
            update={
                "status": "done",
                "finished": now(),
                "seconds": time.perf_counter() - clock,
                "results": list(results.values()),
            }
        )
