"""detections benchmarks: `python -m bench.detections [--events N]` (or `vigil bench detections`).

Measured in one run on the same Elasticsearch:
- one engine cycle of every rule (bundled plus the shared SigmaHQ corpus) over N events (window keyed on
  `event.ingested`, `_msearch` batches, correlation aggregations, alert grouping and writes, run history,
  source health), against the same converted search bodies sent directly in one `_msearch` (the floor of any
  engine doing these searches); median of alternating repetitions, ratio;
- detection latency: events accepted by siem's ingest (`Pipeline.push`), drained by a worker loop, to the alert
  being visible, with the engine ticking every `tick_seconds` and the rule interval set below; p50/p95.
The N events are bulk-loaded into siem's index templates (setup, not measured): loading 1M through the HTTP ingest
would measure siem, which `bench.siem` does. N defaults to 1M (50k with VIGIL_BENCH_QUICK=1); `--events N`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import parallel_bulk

from bench.report import percentile, write_section
from detections import AlertFilter, Detections, DetectionsSettings, HuntRequest
from detections.engine.runner import Engine, PagedSearch
from detections.engine.searches import header
from detections.selftest.scratch import remove_prefix
from siem import Pipeline, SiemSettings
from vigil import indices
from vigil.clients import elasticsearch_client, redis_client
from vigil.settings import load_settings

QUICK = bool(os.environ.get("VIGIL_BENCH_QUICK"))
ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("VIGIL_SIGMA_CORPUS") or ROOT.parent / "shared" / "sigma")
REPEATS = 5
SCANNER = "ac205f40-caa4-4100-a77d-592b520fcf38"

# Scanner requests, each from its own address, spread evenly through the events: the scanner rule alone has
# SCANNER_GROUPS groups to alert (every one must get its alert); about 1% of the rest carries an injection attempt.
SCANNER_GROUPS = 20_000
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "curl/8.5.0", "okhttp/4.12"]
PATHS = ["/orders", "/login", "/api/items?id=42", "/static/app.js", "/search?q=shoes"] * 20 + ["/items?id=1' or '1'='1"]
ERRORS = ["NoMethodError", "KeyError", "ActiveRecord::RecordNotFound", "ActionController::BadRequest"]
REASONS = ["ok", "ok", "ok", "ok", "expired", "bad_signature", "revoked", "unknown_kid"]


def _doc(i: int, rng: random.Random, ingested: str, stamp: str, scanner: int | None) -> tuple[str, dict[str, Any]]:
    kind = rng.random() if scanner is None else 0.0
    ip = f"10.{rng.randrange(4)}.{rng.randrange(256)}.{rng.randrange(256)}"
    if scanner is not None:
        ip = f"172.{16 + (scanner >> 16 & 15)}.{scanner >> 8 & 255}.{scanner & 255}"
    base: dict[str, Any] = {"@timestamp": stamp, "source": {"ip": ip}}
    if kind < 0.7:
        path = rng.choice(PATHS)
        base.update(
            event={"id": f"a{i}", "dataset": "access", "kind": "event", "ingested": ingested, "original": "-"},
            http={
                "request": {"method": "GET", "id": f"r{i}"},
                "response": {"status_code": rng.choice([200, 404, 500])},
            },
            url={"original": path, "path": path.partition("?")[0], "query": path.partition("?")[2] or None},
            user_agent={"original": "sqlmap/1.7" if scanner is not None else rng.choice(AGENTS)},
        )
        return "access", base
    if kind < 0.85:
        base.update(
            event={"id": f"e{i}", "dataset": "exception", "kind": "event", "ingested": ingested, "original": "-"},
            error={"type": rng.choice(ERRORS), "message": "boom"},
            http={"request": {"id": f"r{rng.randrange(i + 1)}"}},
        )
        return "exception", base
    reason = rng.choice(REASONS)
    base.update(
        event={
            "id": f"u{i}",
            "dataset": "auth",
            "kind": "event",
            "action": rng.choice(["verify", "token"]),
            "outcome": "success" if reason == "ok" else "failure",
            "reason": reason,
            "ingested": ingested,
            "original": "-",
        },
        vigil={"auth": {"client_id": f"client-{rng.randrange(50)}", "scopes": ["alerts:read"], "jti": f"j{i}"}},
    )
    return "auth", base


def load(es: Elasticsearch, prefix: str, events: int) -> float:
    """Bulk-load `events` documents spread over the last 30 minutes; returns seconds taken."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    day = now.strftime("%Y.%m.%d")

    stride = max(events // SCANNER_GROUPS, 1)

    def actions() -> Iterator[dict[str, Any]]:
        for i in range(events):
            moment = (now - timedelta(seconds=rng.randrange(1800))).isoformat()
            dataset, doc = _doc(i, rng, moment, moment, i // stride if i % stride == 0 else None)
            yield {
                "_op_type": "create",
                "_index": f"{prefix}-logs-{dataset}-{day}",
                "_id": doc["event"]["id"],
                "_source": doc,
            }

    start = time.perf_counter()
    for ok, item in parallel_bulk(es, actions(), thread_count=2, chunk_size=2000, raise_on_error=False):
        if not ok:
            raise RuntimeError(f"bulk load failed: {item}")
    es.indices.refresh(index=f"{prefix}-logs-*")
    return time.perf_counter() - start


class RecordingEngine(Engine):
    """The engine, keeping the `_msearch` bodies of every page round it sends (the direct baseline replays them)."""

    rounds: list[list[dict[str, Any]]]

    def _msearch(self, batch: list[tuple[PagedSearch, dict[str, Any]]]) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = []
        for search, request in batch:
            body.append(header(self.settings, search.rule.datasets))
            body.append(request)
        self.rounds.append(body)
        return super()._msearch(batch)


def clear_alerts(es: Elasticsearch, det: Detections) -> None:
    """Every repetition starts without alerts: the index is dropped and made again as `vigil.indices` makes it
    (this Elasticsearch has no delete-by-query)."""
    es.options(ignore_status=404).indices.delete(index=det.settings.alerts_index)
    indices.apply(es, load_settings().in_namespace(det.settings.namespace), owners=["detections"])


def record_rounds(det: Detections, now: datetime) -> list[list[dict[str, Any]]]:
    """Every page round one forced cycle sends, with the `after` keys it really used."""
    recorder = RecordingEngine(det.settings, det.es, det.state.redis, det.engine.rules, det.store, det.history)
    recorder.rounds = []
    recorder.evaluate([(job.rule, job.window) for job in det.engine.planned_jobs(now, force=True)])
    return recorder.rounds


def direct(es: Elasticsearch, rounds: list[list[dict[str, Any]]]) -> float:
    """The same searches and aggregations, one `_msearch` per page round, nothing parsed or written."""
    start = time.perf_counter()
    for body in rounds:
        answer = es.msearch(searches=body)
        if any("error" in r for r in answer["responses"]):
            raise RuntimeError("a direct search failed")
    return time.perf_counter() - start


def cycle_vs_direct(det: Detections, es: Elasticsearch) -> tuple[list[float], list[float], int, int, int]:
    """Interleaved repetitions (A B, then B A, ...) of the engine cycle and the direct replay of its searches.

    Every repetition starts from the same state: checkpoints and alerts removed, so each cycle writes every alert.
    """
    now = datetime.now(UTC)
    keys = (det.settings.key("checkpoints"), det.settings.key("last-run"))
    rounds = record_rounds(det, now)
    ours: list[float] = []
    baseline: list[float] = []
    runs = alerts = groups = 0

    def engine() -> None:
        nonlocal runs, alerts, groups
        det.state.redis.delete(*keys)
        clear_alerts(es, det)
        start = time.perf_counter()
        report = det.run_cycle(now, force=True)
        ours.append(time.perf_counter() - start)
        if report.errors:
            raise RuntimeError(f"rule errors: {[r.error for r in report.errors][:3]}")
        runs, alerts, groups = len(report.runs), report.alerts_changed, sum(r.groups for r in report.runs)

    def replay() -> None:
        baseline.append(direct(es, rounds))

    for repetition in range(REPEATS):
        order = [engine, replay]
        for step in order if repetition % 2 == 0 else reversed(order):
            step()
    return ours, baseline, runs, alerts, groups


def hunt_vs_direct(det: Detections, es: Elasticsearch) -> tuple[list[float], list[float], int]:
    """Interleaved repetitions of a retro-hunt of every enabled rule over the loaded span (by `@timestamp`,
    alerts written; the alerts index removed first so every repetition writes the same) and the direct replay
    of the searches it sent. Returns (ours, baseline, groups found)."""
    now = datetime.now(UTC)
    request = HuntRequest.model_validate(
        {"from": (now - timedelta(minutes=31)).isoformat(), "to": (now + timedelta(minutes=1)).isoformat()}
    )
    recorder = RecordingEngine(det.settings, det.es, det.state.redis, det.engine.rules, det.store, det.history)
    recorder.rounds = []
    live = det.hunter.engine
    det.hunter.engine = recorder
    try:
        det.hunt(request, "bench")
    finally:
        det.hunter.engine = live
    ours: list[float] = []
    baseline: list[float] = []
    groups = 0

    def hunt() -> None:
        nonlocal groups
        clear_alerts(es, det)
        start = time.perf_counter()
        job = det.hunt(request, "bench")
        ours.append(time.perf_counter() - start)
        if job.status != "done":
            raise RuntimeError(f"the hunt ended {job.status}: {job.error}")
        groups = sum(r.groups for r in job.results)

    def replay() -> None:
        baseline.append(direct(es, recorder.rounds))

    for repetition in range(REPEATS):
        order = [hunt, replay]
        for step in order if repetition % 2 == 0 else reversed(order):
            step()
    return ours, baseline, groups


def latency(det: Detections, pipeline: Pipeline, samples: int) -> list[float]:
    """Seconds from `push` accepted to the scanner alert visible, with a worker and an engine running."""
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            pipeline.run_once(block_ms=200)

    def engine() -> None:
        while not stop.is_set():
            det.run_cycle()
            stop.wait(det.settings.tick_seconds)

    threads = [threading.Thread(target=worker, daemon=True), threading.Thread(target=engine, daemon=True)]
    for thread in threads:
        thread.start()
    results: list[float] = []
    try:
        for n in range(samples):
            ip = f"198.18.{n // 250}.{n % 250 + 1}"
            line = (
                f'{{"@timestamp": "{datetime.now(UTC).isoformat()}", "method": "GET", "path": "/", "status": 404, '
                f'"remote_ip": "{ip}", "user_agent": "nikto/2.5"}}'
            )
            pipeline.push("json", [line])
            accepted = time.perf_counter()
            deadline = accepted + det.settings.interval_seconds + 60
            while time.perf_counter() < deadline:
                page = det.alerts(AlertFilter(rule_id=SCANNER, text=ip, limit=5))
                if any(a.group_key == f"source.ip={ip}" for a in page.alerts):
                    results.append(time.perf_counter() - accepted)
                    break
                time.sleep(0.5)
            else:
                results.append(float("inf"))
            time.sleep(random.uniform(0.0, 1.0))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=50_000 if QUICK else 1_000_000)
    parser.add_argument("--latency-samples", type=int, default=10 if QUICK else 30)
    parser.add_argument("--interval", type=int, default=10, help="Rule interval (s) during the latency run.")
    args = parser.parse_args()
    settings = load_settings()
    es = elasticsearch_client(settings, request_timeout=300)
    redis = redis_client(settings)
    prefix = f"benchdet-{uuid.uuid4().hex[:8]}"
    try:
        indices.apply(es, settings.in_namespace(prefix), owners=["siem", "detections"])
        pipeline = Pipeline(es, redis, SiemSettings(namespace=prefix))
        pipeline.setup()
        loaded = load(es, prefix, args.events)
        dsettings = DetectionsSettings(
            namespace=prefix,
            rule_paths=[CORPUS],
            initial_lookback_seconds=3600,
            max_window_seconds=7200,
        )
        det = Detections(dsettings, es, redis)
        ours, baseline, runs, alerts, groups = cycle_vs_direct(det, es)
        hunt_ours, hunt_baseline, hunt_groups = hunt_vs_direct(det, es)
        rules = sum(1 for r in det.ruleset.rules.values() if r.info.standalone)
        lat_settings = dsettings.model_copy(update={"interval_seconds": args.interval})
        lat_det = Detections(lat_settings, es, redis)  # rules compiled again: their interval comes from settings
        redis.delete(lat_settings.key("checkpoints"), lat_settings.key("last-run"))
        lat_det.run_cycle()
        lat = latency(lat_det, pipeline, args.latency_samples)
    finally:
        remove_prefix(es, redis, prefix)
    ratio = statistics.median(ours) / statistics.median(baseline)
    hunt_rate, hunt_direct_rate = (
        args.events / statistics.median(hunt_ours),
        args.events / statistics.median(hunt_baseline),
    )
    hunt_ratio = hunt_direct_rate / hunt_rate
    p50, p95 = percentile(lat, 0.5), percentile(lat, 0.95)
    goal_latency = args.interval + 10
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = ", QUICK smoke run" if QUICK else ""
    rows = [
        f"### detections ({stamp}, {os.cpu_count()} cores shared with Elasticsearch, Redis and the other engineers' "
        f"work; {args.events:,} events, {rules} rules{mode})",
        "",
        "| measure | ours | baseline (same run) | ratio | goal | met | notes |",
        "|---|---|---|---|---|---|---|",
        f"| one cycle of every rule over {args.events:,} events (median of {REPEATS}) | "
        f"{statistics.median(ours) * 1000:,.0f} ms | "
        f"direct `_msearch` per page {statistics.median(baseline) * 1000:,.0f} ms | "
        f"{ratio:.2f}x | <= 1.2x | {'yes' if ratio <= 1.2 else '**MISSED**'} | {runs} rule windows, "
        f"{groups} groups matched, {alerts} alerts written (every group alerted: "
        f"{'yes' if alerts >= groups else '**NO**'}); includes alert writes, run history and source health |",
        f"| retro-hunt of every rule over {args.events:,} events by `@timestamp` (median of {REPEATS}) | "
        f"{hunt_rate:,.0f} events/s | direct `_msearch` per page {hunt_direct_rate:,.0f} events/s | "
        f"{hunt_ratio:.2f}x | <= 1.2x | {'yes' if hunt_ratio <= 1.2 else '**MISSED**'} | "
        f"{hunt_groups} groups found, alerts written; windows of {dsettings.hunt_window_seconds} s |",
        f"| detection latency, accepted by ingest -> alert visible, p50 / p95 | {p50:.1f} / {p95:.1f} s |  |  | "
        f"p95 <= interval + 10 s = {goal_latency} s | {'yes' if p95 <= goal_latency else '**MISSED**'} | "
        f"rule interval {args.interval} s, engine tick {dsettings.tick_seconds:g} s, ingest delay "
        f"{dsettings.ingest_delay_seconds} s; {len(lat)} samples |",
        f"| bulk load of the events (setup, not a goal) | {loaded:.0f} s |  |  | (reported) | - | "
        "`parallel_bulk` into siem's templates |",
    ]
    write_section("detections", "\n".join(rows))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
