"""`vigil demo` from start to end: clean state, services up, the day played, then what each user of Vigil sees.

After the traffic it drains the pipeline, runs the detections and the compliance cycle directly (beat would do
the same within minutes), publishes the compliance status, builds an evidence bundle and verifies it offline.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
from elasticsearch import Elasticsearch
from rich.console import Console

from compliance import Period, SlaAttainment, StatusReport, attainment_by_tier, load_canary_runs
from compliance.transparency import Transparency, TransparencyReport
from detections import Alert, AlertFilter, Detections
from edgeauth import KeyStore
from edgeauth.issuer import ClientExists, ClientRegistry
from evidence import EvidenceArchive, EvidenceLocker, VerificationReport
from siem import FileTail, Pipeline, RecordFormat, pipeline_status
from vigil import keyring
from vigil.canary.runner import CanaryReport, canary_secret, run_canary, secret_path
from vigil.canary.tiers import CanaryDefinition, load_definitions
from vigil.clients import elasticsearch_client, redis_client
from vigil.compliance_runtime import build_compliance, build_transparency
from vigil.console.registration import register_first_party
from vigil.demo.config import SLOW_TIER, SLOW_UPSTREAM_MS, DemoConfig, DemoPaths, demo_environment
from vigil.demo.stack import Stack
from vigil.demo.traffic import StoreClient, Storyline, Traffic, TrafficReport, play_day
from vigil.detections_runtime import build_detections
from vigil.errors import ServiceError
from vigil.services.process import wait_until
from vigil.settings import VigilSettings, load_settings

CLIENT_PREFIX = "storefront-app"


@dataclass(frozen=True)
class ClientReport:
    """One client's signed transparency report over the demo period, as written and as verified."""

    report: TransparencyReport
    path: Path
    verification: VerificationReport


@dataclass
class DemoResult:
    started: datetime
    traffic: TrafficReport
    edge: list[dict[str, Any]]
    alerts: list[Alert]
    featured: Alert | None
    featured_events: list[dict[str, Any]]
    compliance: StatusReport
    bundle: Path
    canary: list[CanaryReport]
    period: Period
    sla: tuple[SlaAttainment, ...]
    verification: VerificationReport
    reports: list[ClientReport]
    urls: dict[str, str]
    seconds: float


def prepare(config: DemoConfig) -> tuple[VigilSettings, DemoPaths, Stack]:
    """Settings with the demo's variables applied to this process too (the demo itself talks to the services)."""
    base = load_settings()
    paths = DemoPaths(base.home)
    env = demo_environment(base, config, paths)
    os.environ.update(env)
    return load_settings(), paths, Stack(config, paths, env)


def reset(settings: VigilSettings, paths: DemoPaths) -> None:
    """Remove the demo namespace's indices, Redis keys and log files (the secrets and signing keys stay)."""
    es = elasticsearch_client(settings)
    patterns = [
        f"{settings.namespace}-logs-*",
        f"{settings.namespace}-deadletter-*",
        f"{settings.namespace}-alerts*",
        f"{settings.namespace}-detections-*",
        f"{settings.namespace}-evidence-*",
        f"{settings.namespace}-compliance-*",
    ]
    for pattern in patterns:
        names = list(es.options(ignore_status=404).indices.get(index=pattern, expand_wildcards="all"))
        if names:
            es.options(ignore_status=404).indices.delete(index=",".join(names))
    redis = redis_client(settings)
    keys = list(redis.scan_iter(match=f"{settings.namespace}:*", count=1000))
    for start in range(0, len(keys), 1000):
        redis.delete(*keys[start : start + 1000])
    canaries = [secret_path(settings, d.client_id) for d in load_definitions(settings.canary)]
    for stale in (
        paths.nginx_access_log,
        paths.api_access_log,
        paths.api_exception_log,
        paths.slow_upstream,
        *canaries,
    ):
        stale.unlink(missing_ok=True)


def register_clients(settings: VigilSettings, count: int) -> list[StoreClient]:
    """The storefront's client applications; a quarter of them may only read (their writes are refused)."""
    registry = ClientRegistry.from_settings(settings.edgeauth, redis_client(settings))
    clients = []
    for i in range(count):
        client_id = f"{CLIENT_PREFIX}-{i:03d}"
        writes = i % 4 != 3
        try:
            issued = registry.create(
                client_id,
                actor="vigil-demo",
                scopes=["orders:read", "orders:write"] if writes else ["orders:read"],
                audiences=list(settings.edgeauth.audiences),
                description="demo storefront client",
            )
        except ClientExists:
            issued = registry.rotate(client_id, actor="vigil-demo")
        if issued.client_secret is None:
            raise ServiceError(f"the issuer gave {client_id} no secret")
        clients.append(StoreClient(client_id, issued.client_secret, writes))
    return clients


def wait_for_drain(settings: VigilSettings, paths: DemoPaths, timeout: float = 180.0) -> None:
    """Let the shippers read the logs to their end, then index everything queued and make it searchable."""
    pipeline = Pipeline(elasticsearch_client(settings), redis_client(settings), settings.siem)
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        # A shipper polls its file; two equal counts a second apart mean it has caught up.
        received = pipeline_status(pipeline).received
        if received == last:
            break
        last = received
        time.sleep(1.5)
    while time.monotonic() < deadline:
        pipeline.drain()
        current = pipeline_status(pipeline)
        if current.queue_depth == 0 and current.pending_entries == 0:
            return
        time.sleep(0.5)
    raise ServiceError(f"the pipeline did not drain in {timeout:.0f}s; see `vigil pipeline status`")


def wait_until_shipped(settings: VigilSettings, path: Path, fmt: RecordFormat, timeout: float = 60.0) -> None:
    """Until the shipper's saved offset reaches the end of `path`: every line written so far is queued."""
    pipeline = Pipeline(elasticsearch_client(settings), redis_client(settings), settings.siem)
    tail = FileTail(pipeline, path, fmt, settings.siem.tail_state_dir)

    def caught_up() -> bool:
        state = tail.load_state()
        return state is not None and state.offset >= path.stat().st_size

    if not wait_until(caught_up, timeout, 0.25):
        raise ServiceError(f"the shipper of {path} did not catch up in {timeout:.0f}s; see its log in .vigil/demo/logs")


def slow_upstream(paths: DemoPaths, definitions: tuple[CanaryDefinition, ...], *, on: bool) -> None:
    """Turn the storefront's fault switch on or off for the slow tier: its clients and its canary's client."""
    if not on:
        paths.slow_upstream.unlink(missing_ok=True)
        return
    slowed = [c for d in definitions if d.tier == SLOW_TIER for c in (*d.clients, d.client_id)]
    paths.slow_upstream.parent.mkdir(parents=True, exist_ok=True)
    paths.slow_upstream.write_text(json.dumps({"clients": slowed, "delay_ms": SLOW_UPSTREAM_MS}), encoding="utf-8")


def edge_decisions(es: Elasticsearch, settings: VigilSettings, since: datetime) -> list[dict[str, Any]]:
    """Verify decisions since `since` by outcome and reason, with the verifier's own p99 latency."""
    response = cast(
        dict[str, Any],
        es.search(
            index=f"{settings.namespace}-logs-auth-*",
            ignore_unavailable=True,
            allow_no_indices=True,
            size=0,
            query={
                "bool": {
                    "filter": [
                        {"term": {"event.action": "verify"}},
                        {"range": {"@timestamp": {"gte": since.isoformat()}}},
                    ]
                }
            },
            aggs={
                "outcome": {
                    "terms": {"field": "event.outcome", "size": 5},
                    "aggs": {
                        "reason": {
                            "terms": {"field": "event.reason", "size": 30},
                            "aggs": {"p99": {"percentiles": {"field": "event.duration", "percents": [99]}}},
                        }
                    },
                }
            },
        ).body,
    )
    rows = []
    for outcome in response.get("aggregations", {}).get("outcome", {}).get("buckets", []):
        for reason in outcome["reason"]["buckets"]:
            p99_ns = reason["p99"]["values"].get("99.0")
            rows.append(
                {
                    "outcome": outcome["key"],
                    "reason": reason["key"],
                    "count": reason["doc_count"],
                    "p99_us": None if p99_ns is None else p99_ns / 1000,
                }
            )
    return sorted(rows, key=lambda r: (r["outcome"] != "success", -r["count"]))


def run_detections(detections: Detections, timeout: float = 120.0) -> None:
    """One full cycle now; a cycle beat started at the same moment holds the lock, so wait for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = detections.run_cycle(force=True)
        if not report.skipped:
            return
        time.sleep(1.0)
    raise ServiceError("the detection cycle stayed locked by another run; see the worker log")


def featured_alert(alerts: list[Alert]) -> Alert | None:
    """The alert shown in full: the payload that reached the code if present, else the most severe."""
    order = ["critical", "high", "medium", "low", "informational"]
    for alert in alerts:
        if "Reached The Code" in alert.rule_title:
            return alert
    return min(alerts, key=lambda a: order.index(a.level.value), default=None)


def run(config: DemoConfig, *, wipe: bool, console: Console) -> DemoResult:
    clock = time.monotonic()
    started = datetime.now(UTC)
    settings, paths, stack = prepare(config)
    stopped = stack.down()
    if stopped:
        console.print(f"stopped the previous demo's processes: {', '.join(stopped)}")
    if wipe:
        reset(settings, paths)
        console.print("reset: the demo namespace's indices, queues, keys and logs are gone")
    stack.check_ports()
    KeyStore(redis_client(settings), settings.edgeauth).ensure()
    console.print("starting the Vigil app, edge verifier, storefront, nginx, log shippers, worker and beat ...")
    stack.start_services()
    stack.start_shippers()
    clients = register_clients(settings, config.clients)
    # People sign in to the console and `vigil login` through the issuer: their first-party clients.
    register_first_party(settings, actor="vigil-demo")
    definitions = load_definitions(settings.canary)
    # Registered before beat starts, so beat's canaries and this run never both create a canary client.
    for definition in definitions:
        canary_secret(settings, definition)
    stack.start_worker()
    jwks = httpx.get(f"{config.app_url}/.well-known/jwks.json", timeout=10).json()
    silent_since: list[float] = []

    async def silence() -> None:
        # The shipper dies after it has sent the injection's exceptions (they join the access log by request id).
        await asyncio.to_thread(wait_until_shipped, settings, paths.api_exception_log, "rails")
        await asyncio.to_thread(stack.stop, "ship-exceptions")
        silent_since.append(time.monotonic())

    async def day() -> TrafficReport:
        limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)
        async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:
            traffic = Traffic(
                http, issuer_url=config.app_url, proxy_url=config.nginx_url, concurrency=config.concurrency
            )
            story = Storyline(
                clients=clients,
                users=config.users,
                requests_per_user=config.requests_per_user,
                audience=settings.edgeauth.audiences[0],
                issuer=settings.edgeauth.issuer,
            )
            # The slow tier's upstream is slow for the whole storyline: beat's canaries and this one see it.
            played, _ = await asyncio.gather(
                play_day(traffic, story, jwks, silence), asyncio.to_thread(run_canary, settings)
            )
            return played

    slow_upstream(paths, definitions, on=True)
    try:
        report = asyncio.run(day())
    finally:
        slow_upstream(paths, definitions, on=False)
    console.print(f"played {report.requests} requests; draining the pipeline ...")
    wait_for_drain(settings, paths)
    # The silent source must stay silent past the absence window (plus the detections' ingest delay).
    quiet_needed = config.absence_minutes * 60 + settings.detections.ingest_delay_seconds + 2
    remaining = quiet_needed - (time.monotonic() - silent_since[0])
    if remaining > 0:
        with console.status(f"waiting {remaining:.0f}s: the exception source must stay silent for the absence rule"):
            time.sleep(remaining)
    wait_for_drain(settings, paths)
    time.sleep(settings.detections.ingest_delay_seconds + 1)
    canary = run_canary(settings)
    detections = build_detections(settings)
    console.print("running the detections ...")
    run_detections(detections)
    page = detections.alerts(AlertFilter(since=started - timedelta(minutes=1), limit=500))
    featured = featured_alert(page.alerts)
    console.print("running the compliance cycle, publishing its status, building and verifying a bundle ...")
    compliance = build_compliance(settings)
    _, update = compliance.cycle()
    now = datetime.now(UTC)
    period = Period(start=started - timedelta(minutes=5), end=now)
    compliance.publish(period)
    locker = EvidenceLocker(elasticsearch_client(settings), redis_client(settings), settings.evidence)
    sla = attainment_by_tier(load_canary_runs(locker, period), period)
    archive = keyring.evidence_archive(settings)
    built = archive.build_bundle(started - timedelta(minutes=5), datetime.now(UTC))
    paths.bundles.mkdir(parents=True, exist_ok=True)
    bundle = archive.export_bundle(built.info.name, paths.bundles)
    verification = archive.verify(bundle)
    console.print("writing and verifying each client's signed transparency report ...")
    transparency = build_transparency(settings, compliance=compliance, detections=detections, archive=archive)
    customers = sorted({client for run in canary for client in run.definition.clients})
    reports = [client_report(transparency, archive, client, period, paths.reports) for client in customers]
    return DemoResult(
        started=started,
        traffic=report,
        edge=edge_decisions(elasticsearch_client(settings), settings, started),
        alerts=page.alerts,
        featured=featured,
        featured_events=detections.alert_events(featured) if featured else [],
        compliance=update.report,
        bundle=bundle,
        canary=canary,
        period=period,
        sla=sla,
        verification=verification,
        reports=reports,
        urls=stack.urls(),
        seconds=time.monotonic() - clock,
    )


def client_report(
    transparency: Transparency, archive: EvidenceArchive, client: str, period: Period, folder: Path
) -> ClientReport:
    """The signed package written to `folder` and verified as a customer would (the published key, offline)."""
    document = transparency.document(client, period.start, period.end, "zip", actor="vigil-demo")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / document.filename
    path.write_bytes(document.content)
    return ClientReport(report=document.report, path=path, verification=archive.verify(path))


def down() -> list[str]:
    base = load_settings()
    return Stack(DemoConfig(), DemoPaths(base.home), {}).down()
