"""Canaries: live dummy clients, one per SLA tier, that go the whole way a real client does, continuously.

Each probe of a tier's canary obtains a token as the tier's own OAuth client, calls each of the tier's endpoints
through nginx and the edge verifier, and ingests a marker event through the ingest API; the next run checks that
the previous marker became searchable. Every probe becomes a `canary` event in siem (ECS `event.duration` in ns,
`event.outcome`, tier and clients); every run becomes a `canary.run` evidence item in the locker (the SLA evidence
`compliance.sla` reads); a run with a failed probe, or one that finds its canary silent for three intervals,
raises an alert through detections; burn-rate alerts follow (`vigil.canary.burn`). `vigil canary run` runs them
once; beat runs each tier at its own interval when `enabled`.

This module composes: it alone knows the whole path (issuer, nginx, edge, ingest), so it probes it here, then asks
the packages that own the data: siem to queue the probe events (`Pipeline.push`) and whether the marker is
searchable (`Pipeline.request_indexed`), the evidence locker to keep the run (`EvidenceLocker.append`), detections
to raise the alert (`Detections.raise_alert`).
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import cast
from urllib.parse import quote

import httpx
from celery import Celery
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from compliance import CanaryRun, ProbeResult, StepResult, load_catalog
from compliance.sla import KIND, percentile
from detections import Level
from edgeauth.issuer import ClientExists, ClientNotFound, ClientRegistry, InvalidClientDefinition
from evidence import EvidenceLocker
from siem import CanaryRecord, Pipeline
from vigil.canary.burn import alert_on_burn
from vigil.canary.tiers import CanaryDefinition, load_definitions, select
from vigil.clients import elasticsearch_client, redis_client
from vigil.demo.config import local_secret
from vigil.detections_runtime import build_detections
from vigil.errors import VigilError
from vigil.indices import ensure_applied
from vigil.settings import VigilSettings

SOURCE = "vigil-canary"


class CanaryError(VigilError):
    """A canary could not be set up (its client or secret); probe failures are results, not errors."""


class CanaryReport(BaseModel):
    """One run of one canary."""

    model_config = ConfigDict(frozen=True)

    definition: CanaryDefinition
    started: datetime
    probes: tuple[ProbeResult, ...]
    markers: tuple[str, ...]
    previous_marker_indexed: bool | None
    silent_seconds: float | None = Field(description="Gap since the previous run, when longer than 3 intervals.")

    @property
    def success_rate(self) -> float:
        return sum(p.ok for p in self.probes) / len(self.probes)

    def percentile_ms(self, kind: str, percent: float) -> float | None:
        """Latency of one kind of step (`token`, `request`, `ingest`) at a percentile over this run's probes."""
        values = [s.latency_ms for p in self.probes for s in p.steps if s.kind == kind and s.latency_ms is not None]
        return percentile(values, percent)


def _keys(settings: VigilSettings, definition: CanaryDefinition) -> tuple[str, str]:
    base = f"{settings.namespace}:canary:{definition.name}"
    return f"{base}:last_run", f"{base}:last_marker"


def secret_path(settings: VigilSettings, client_id: str) -> Path:
    return settings.home / "secrets" / f"{client_id}.secret"


def canary_secret(settings: VigilSettings, definition: CanaryDefinition) -> SecretStr:
    """The canary client's secret: registered once with the tier's scopes, kept in `{home}/secrets` (0600),
    re-issued if lost. Never printed or logged."""
    path = secret_path(settings, definition.client_id)
    registry = ClientRegistry.from_settings(settings.edgeauth, redis_client(settings))
    if path.exists():
        _follow_scopes(registry, definition)
        return SecretStr(local_secret(path.parent, path.name))
    try:
        issued = registry.create(
            definition.client_id,
            actor=SOURCE,
            scopes=list(definition.scopes),
            audiences=list(settings.edgeauth.audiences),
            description=f"canary of tier {definition.tier} (stands for {', '.join(definition.clients)})",
        )
    except ClientExists:
        issued = registry.rotate(definition.client_id, actor=SOURCE)
    except InvalidClientDefinition as exc:
        raise CanaryError(
            f"cannot register the canary client {definition.client_id}: {exc} (set the tier's scopes, or "
            "VIGIL_CANARY__SCOPES, or VIGIL_EDGEAUTH__OAUTH__SCOPES_SUPPORTED; `vigil demo` sets both up)"
        ) from None
    if issued.client_secret is None:
        raise CanaryError(f"the issuer gave {definition.client_id} no secret")
    _write_private(path, issued.client_secret.get_secret_value())
    return issued.client_secret


def _follow_scopes(registry: ClientRegistry, definition: CanaryDefinition) -> None:
    """A tier whose scopes changed in the definitions gets them on its next run (an audited client change)."""
    try:
        record = registry.get(definition.client_id)
    except ClientNotFound:
        return  # removed by an administrator: the probes fail and alert rather than re-creating it behind them
    if record.scopes != frozenset(definition.scopes):
        try:
            registry.set_scopes(definition.client_id, definition.scopes, actor=SOURCE)
        except InvalidClientDefinition as exc:
            raise CanaryError(
                f"cannot give {definition.client_id} the scopes of tier {definition.tier}: {exc}"
            ) from None


def _write_private(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value)


def _basic(client_id: str, secret: SecretStr) -> str:
    """RFC 6749 2.3.1: both parts form-encoded before base64."""
    pair = f"{quote(client_id, safe='')}:{quote(secret.get_secret_value(), safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def proxy_of(settings: VigilSettings, definition: CanaryDefinition) -> str:
    return definition.proxy_url or settings.canary.proxy_url


def probe(
    http: httpx.Client, settings: VigilSettings, definition: CanaryDefinition, secret: SecretStr, marker: str
) -> ProbeResult:
    """Token, each endpoint through the proxy, marker ingest; stops at the first failed step."""
    issuer = settings.canary.issuer_url
    steps: list[StepResult] = []

    def step(kind: str, target: str, request: httpx.Request, expected: int) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = http.send(request)
        except httpx.HTTPError as exc:
            steps.append(StepResult.model_validate({"kind": kind, "target": target, "ok": False, "detail": _name(exc)}))
            return None
        latency = (time.perf_counter() - started) * 1000
        ok = response.status_code == expected
        detail = "" if ok else f"HTTP {response.status_code}"
        steps.append(
            StepResult.model_validate(
                {"kind": kind, "target": target, "ok": ok, "latency_ms": latency, "detail": detail}
            )
        )
        return response if ok else None

    got = step(
        "token",
        "",
        http.build_request(
            "POST",
            f"{issuer}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"authorization": _basic(definition.client_id, secret)},
        ),
        200,
    )
    if got is None:
        return ProbeResult(steps=tuple(steps))
    try:
        bearer = {"authorization": f"Bearer {got.json()['access_token']}", "x-request-id": marker}
    except (ValueError, KeyError, TypeError):
        failed = steps[-1].model_copy(update={"ok": False, "detail": "no access_token in the answer"})
        return ProbeResult(steps=(*steps[:-1], failed))
    proxy = proxy_of(settings, definition)
    for endpoint in definition.endpoints:
        if step("request", endpoint, http.build_request("GET", f"{proxy}{endpoint}", headers=bearer), 200) is None:
            return ProbeResult(steps=tuple(steps))
    line = json.dumps(
        {
            "@timestamp": datetime.now(UTC).isoformat(),
            "method": "GET",
            "path": "/canary/marker",
            "status": 200,
            "controller": "CanaryController",
            "action": "marker",
            "request_id": marker,
            "service": SOURCE,
            "user_agent": f"vigil-canary/2 ({definition.tier})",
        }
    )
    step(
        "ingest",
        "/ingest/access",
        http.build_request("POST", f"{issuer}/ingest/access?format=json", content=line.encode(), headers=bearer),
        202,
    )
    return ProbeResult(steps=tuple(steps))


def _name(exc: Exception) -> str:
    return type(exc).__name__


def run_canary(settings: VigilSettings, tier: str | None = None) -> list[CanaryReport]:
    """One run of every canary (or of one tier's): probes, events, evidence, alerts, burn rates."""
    definitions = select(load_definitions(settings.canary), tier)
    reports = [run_definition(settings, d) for d in definitions]
    alert_on_burn(settings, definitions)
    return reports


def run_definition(settings: VigilSettings, definition: CanaryDefinition) -> CanaryReport:
    """One run of one canary: probes, the previous marker's arrival, events, evidence, and an alert when wrong."""
    redis = redis_client(settings, decode_responses=True)
    last_run_key, last_marker_key = _keys(settings, definition)
    started = datetime.now(UTC)
    previous_run = cast(str | None, redis.get(last_run_key))
    previous_marker = cast(str | None, redis.get(last_marker_key))
    gap = (started - datetime.fromisoformat(previous_run)).total_seconds() if previous_run else None
    secret = canary_secret(settings, definition)
    markers = tuple(f"canary-{uuid.uuid4().hex}" for _ in range(definition.probes))
    with httpx.Client(timeout=settings.canary.timeout_seconds) as http:
        probes = tuple(probe(http, settings, definition, secret, marker) for marker in markers)
    pipeline = Pipeline(elasticsearch_client(settings), redis_client(settings), settings.siem)
    indexed = pipeline.request_indexed(previous_marker) if previous_marker else None
    report = CanaryReport(
        definition=definition,
        started=started,
        probes=probes,
        markers=markers,
        previous_marker_indexed=indexed,
        silent_seconds=gap if gap is not None and gap > 3 * definition.interval_seconds else None,
    )
    redis.set(last_run_key, started.isoformat())
    delivered = [m for m, p in zip(markers, probes, strict=True) if p.ok]
    if delivered:
        redis.set(last_marker_key, delivered[-1])
    record_events(settings, pipeline, report)
    record_evidence(settings, report)
    alert_if_unhealthy(settings, report)
    return report


def probe_records(settings: VigilSettings, report: CanaryReport) -> list[CanaryRecord]:
    """One `canary` event per probe, each judged against the tier's latency objective at the time."""
    definition = report.definition
    objective = definition.objectives.latency_ms
    url = proxy_of(settings, definition) + ",".join(definition.endpoints)
    records = []
    for marker, result in zip(report.markers, report.probes, strict=True):
        latency = result.request_latency_ms
        failed = next((s for s in result.steps if not s.ok), None)
        records.append(
            CanaryRecord(
                id=marker,
                timestamp=report.started,
                canary=definition.name,
                tier=definition.tier,
                clients=definition.clients,
                client_id=definition.client_id,
                outcome="success" if result.ok else "failure",
                duration_ns=round((latency or 0.0) * 1_000_000),
                slow=result.ok and (latency or 0.0) > objective,
                latency_objective_ms=objective,
                url=url,
                failed_step=None if failed is None else failed.kind,
                reason=None if failed is None else (failed.detail or "failed"),
            )
        )
    return records


def record_events(settings: VigilSettings, pipeline: Pipeline, report: CanaryReport) -> None:
    records = probe_records(settings, report)
    pipeline.push(
        "canary",
        [r.model_dump_json() for r in records],
        source=SOURCE,
        ids=[f"{SOURCE}:{r.id}" for r in records],
    )


def canary_run(settings: VigilSettings, report: CanaryReport) -> CanaryRun:
    definition = report.definition
    return CanaryRun(
        canary=definition.name,
        tier=definition.tier,
        clients=definition.clients,
        canary_client_id=definition.client_id,
        started_at=report.started,
        interval_seconds=definition.interval_seconds,
        proxy_url=proxy_of(settings, definition),
        probes=report.probes,
        objectives=definition.objectives,
        previous_marker_indexed=report.previous_marker_indexed,
    )


def record_evidence(settings: VigilSettings, report: CanaryReport) -> None:
    definition = report.definition
    run = canary_run(settings, report)
    es = elasticsearch_client(settings)
    ensure_applied(es, settings)
    proxy = proxy_of(settings, definition)
    EvidenceLocker(es, redis_client(settings), settings.evidence).append(
        collector=KIND,
        collector_version="2",
        source_system=SOURCE,
        query=(
            f"POST {settings.canary.issuer_url}/oauth/token; "
            + "; ".join(f"GET {proxy}{e}" for e in definition.endpoints)
            + "; POST /ingest/access"
        ),
        parameters={"canary": definition.name, "tier": definition.tier, "client_id": definition.client_id},
        effective_at=report.started,
        control_ids=load_catalog().controls_for_collector(KIND),
        media_type="application/json",
        content=run.canonical(),
        freshness_seconds=3 * definition.interval_seconds,
    )


def alert_if_unhealthy(settings: VigilSettings, report: CanaryReport) -> None:
    problems = [failure for p in report.probes if (failure := p.failure) is not None]
    if report.previous_marker_indexed is False:
        problems.append("indexed: the previous run's marker event never became searchable")
    if report.silent_seconds is not None:
        problems.append(f"silent: no canary run for {report.silent_seconds:.0f}s")
    if not problems:
        return
    definition = report.definition
    build_detections(settings).raise_alert(
        key="canary",
        title="Availability canary failing",
        level=Level.HIGH,
        summary=f"tier {definition.tier}: {len(problems)} problem(s): " + "; ".join(sorted(set(problems))[:5]),
        group_key=definition.client_id,
        evidence={
            "tier": definition.tier,
            "clients": list(definition.clients),
            "success_rate": report.success_rate,
            "problems": problems[:20],
        },
        tags=["availability"],
    )


def register_tasks(app: Celery, settings: VigilSettings) -> None:
    """`vigil.canary` on beat, once per tier at that tier's interval, only when canaries are enabled."""
    if not settings.canary.enabled:
        return

    @app.task(name="vigil.canary", shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def canary_task(tier: str | None = None) -> None:
        run_canary(settings, tier)

    for definition in load_definitions(settings.canary):
        app.conf.beat_schedule[f"vigil-canary-{definition.name}"] = {
            "task": "vigil.canary",
            "schedule": float(definition.interval_seconds),
            "args": (definition.tier,),
        }
