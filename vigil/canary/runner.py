"""Canaries: a live dummy client that goes the whole way a real one does, continuously.

Each probe obtains a token from the issuer, calls the storefront through nginx and the edge verifier, and ingests
a marker event through the ingest API; the next run checks that the previous marker became searchable. A run's
success rate and latencies go to the evidence locker as availability evidence (collector `vigil.canary`); a run
with a failed probe, or one that finds the canary was not run for three intervals, raises an alert through
detections. `vigil canary` runs it once; beat runs it every `interval_seconds` when `enabled`.

This module composes: it alone knows the whole path (issuer, nginx, edge, ingest), so it probes it here, then asks
the packages that own the data: siem whether the marker is searchable (`Pipeline.request_indexed`), the evidence
locker to keep the result (`EvidenceLocker.append`), detections to raise the alert (`Detections.raise_alert`).
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
from pydantic import BaseModel, Field, SecretStr

from detections import Level
from edgeauth.issuer import ClientExists, ClientRegistry, InvalidClientDefinition
from evidence import EvidenceLocker, canonical_json
from siem import Pipeline
from vigil.clients import elasticsearch_client, redis_client
from vigil.demo.config import local_secret
from vigil.detections_runtime import build_detections
from vigil.errors import VigilError
from vigil.indices import ensure_applied
from vigil.settings import VigilSettings

COLLECTOR = "vigil.canary"
CONTROLS = ("CC7.2", "A.8.16")
STEPS = ("token", "edge", "ingest", "indexed")


class CanaryError(VigilError):
    """The canary could not be set up (its client or secret); probe failures are results, not errors."""


class Probe(BaseModel):
    ok: bool
    failed_step: str | None = None
    detail: str = ""
    latency_ms: dict[str, float] = Field(default_factory=dict)


class CanaryReport(BaseModel):
    started: datetime
    probes: list[Probe]
    previous_marker_indexed: bool | None
    silent_seconds: float | None = Field(description="Gap since the previous run, when longer than 3 intervals.")

    @property
    def success_rate(self) -> float:
        return sum(p.ok for p in self.probes) / len(self.probes)

    def percentile_ms(self, step: str, q: float) -> float | None:
        values = sorted(p.latency_ms[step] for p in self.probes if step in p.latency_ms)
        return values[min(len(values) - 1, int(len(values) * q))] if values else None


def _keys(settings: VigilSettings) -> tuple[str, str]:
    base = f"{settings.namespace}:canary"
    return f"{base}:last_run", f"{base}:last_marker"


def secret_path(settings: VigilSettings) -> Path:
    return settings.home / "secrets" / f"{settings.canary.client_id}.secret"


def canary_secret(settings: VigilSettings) -> SecretStr:
    """The canary client's secret: registered once, kept in `{home}/secrets` (0600), re-issued if lost."""
    canary = settings.canary
    path = secret_path(settings)
    if path.exists():
        return SecretStr(local_secret(path.parent, path.name))
    registry = ClientRegistry.from_settings(settings.edgeauth, redis_client(settings))
    try:
        issued = registry.create(
            canary.client_id,
            actor="vigil-canary",
            scopes=list(canary.scopes),
            audiences=list(settings.edgeauth.audiences),
            description="availability canary",
        )
    except ClientExists:
        issued = registry.rotate(canary.client_id, actor="vigil-canary")
    except InvalidClientDefinition as exc:
        raise CanaryError(
            f"cannot register the canary client: {exc} (set VIGIL_CANARY__SCOPES or "
            "VIGIL_EDGEAUTH__OAUTH__SCOPES_SUPPORTED; `vigil demo` sets both up)"
        ) from None
    if issued.client_secret is None:
        raise CanaryError(f"the issuer gave {canary.client_id} no secret")
    _write_private(path, issued.client_secret.get_secret_value())
    return issued.client_secret


def _write_private(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value)


def _basic(client_id: str, secret: SecretStr) -> str:
    """RFC 6749 2.3.1: both parts form-encoded before base64."""
    pair = f"{quote(client_id, safe='')}:{quote(secret.get_secret_value(), safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def probe(http: httpx.Client, settings: VigilSettings, secret: SecretStr, marker: str) -> Probe:
    canary = settings.canary
    latency: dict[str, float] = {}

    def timed(step: str, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = http.send(request)
        latency[step] = (time.perf_counter() - started) * 1000
        return response

    step = "token"
    try:
        got = timed(
            "token",
            http.build_request(
                "POST",
                f"{canary.issuer_url}/oauth/token",
                data={"grant_type": "client_credentials"},
                headers={"authorization": _basic(canary.client_id, secret)},
            ),
        )
        if got.status_code != 200:
            return Probe(ok=False, failed_step=step, detail=f"HTTP {got.status_code}", latency_ms=latency)
        bearer = {"authorization": f"Bearer {got.json()['access_token']}", "x-request-id": marker}
        step = "edge"
        called = timed("edge", http.build_request("GET", f"{canary.proxy_url}{canary.path}", headers=bearer))
        if called.status_code != 200:
            return Probe(ok=False, failed_step=step, detail=f"HTTP {called.status_code}", latency_ms=latency)
        step = "ingest"
        line = json.dumps(
            {
                "@timestamp": datetime.now(UTC).isoformat(),
                "method": "GET",
                "path": "/canary/marker",
                "status": 200,
                "controller": "CanaryController",
                "action": "marker",
                "request_id": marker,
                "service": "vigil-canary",
                "user_agent": "vigil-canary/1",
                "duration": round(latency["edge"], 2),
            }
        )
        sent = timed(
            "ingest",
            http.build_request(
                "POST", f"{canary.issuer_url}/ingest/access?format=json", content=line.encode(), headers=bearer
            ),
        )
        if sent.status_code != 202:
            return Probe(ok=False, failed_step=step, detail=f"HTTP {sent.status_code}", latency_ms=latency)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return Probe(ok=False, failed_step=step, detail=type(exc).__name__, latency_ms=latency)
    return Probe(ok=True, latency_ms=latency)


def run_canary(settings: VigilSettings) -> CanaryReport:
    """One run: probes, the previous marker's arrival, evidence, and an alert when something is wrong."""
    canary = settings.canary
    redis = redis_client(settings, decode_responses=True)
    last_run_key, last_marker_key = _keys(settings)
    started = datetime.now(UTC)
    previous_run = cast(str | None, redis.get(last_run_key))
    previous_marker = cast(str | None, redis.get(last_marker_key))
    gap = (started - datetime.fromisoformat(previous_run)).total_seconds() if previous_run else None
    secret = canary_secret(settings)
    markers = [f"canary-{uuid.uuid4().hex}" for _ in range(canary.probes)]
    with httpx.Client(timeout=canary.timeout_seconds) as http:
        probes = [probe(http, settings, secret, marker) for marker in markers]
    ingest = Pipeline(elasticsearch_client(settings), redis_client(settings), settings.siem)
    indexed = ingest.request_indexed(previous_marker) if previous_marker else None
    report = CanaryReport(
        started=started,
        probes=probes,
        previous_marker_indexed=indexed,
        silent_seconds=gap if gap is not None and gap > 3 * canary.interval_seconds else None,
    )
    redis.set(last_run_key, started.isoformat())
    delivered = [m for m, p in zip(markers, probes, strict=True) if p.ok]
    if delivered:
        redis.set(last_marker_key, delivered[-1])
    record_evidence(settings, report)
    alert_if_unhealthy(settings, report)
    return report


def record_evidence(settings: VigilSettings, report: CanaryReport) -> None:
    canary = settings.canary
    content = {
        "started": report.started.isoformat(),
        "probes": len(report.probes),
        "success_rate": report.success_rate,
        "latency_ms": {
            step: {"p50": report.percentile_ms(step, 0.5), "p99": report.percentile_ms(step, 0.99)}
            for step in STEPS[:3]
        },
        "failures": [p.model_dump() for p in report.probes if not p.ok],
        "previous_marker_indexed": report.previous_marker_indexed,
        "silent_seconds": report.silent_seconds,
    }
    es = elasticsearch_client(settings)
    ensure_applied(es, settings)
    EvidenceLocker(es, redis_client(settings), settings.evidence).append(
        collector=COLLECTOR,
        collector_version="1",
        source_system="vigil-canary",
        query=f"POST {canary.issuer_url}/oauth/token; GET {canary.proxy_url}{canary.path}; POST /ingest/access",
        parameters={"client_id": canary.client_id, "probes": canary.probes},
        effective_at=report.started,
        control_ids=CONTROLS,
        media_type="application/json",
        content=canonical_json(content),
        freshness_seconds=3 * canary.interval_seconds,
    )


def alert_if_unhealthy(settings: VigilSettings, report: CanaryReport) -> None:
    problems = [f"{p.failed_step}: {p.detail}" for p in report.probes if not p.ok]
    if report.previous_marker_indexed is False:
        problems.append("indexed: the previous run's marker event never became searchable")
    if report.silent_seconds is not None:
        problems.append(f"silent: no canary run for {report.silent_seconds:.0f}s")
    if not problems:
        return
    build_detections(settings).raise_alert(
        key="canary",
        title="Availability canary failing",
        level=Level.HIGH,
        summary=f"{len(problems)} problem(s): " + "; ".join(sorted(set(problems))[:5]),
        group_key=settings.canary.client_id,
        evidence={"success_rate": report.success_rate, "problems": problems[:20]},
        tags=["availability"],
    )


def register_tasks(app: Celery, settings: VigilSettings) -> None:
    """`vigil.canary` on beat every `interval_seconds`, only when the canary is enabled."""
    if not settings.canary.enabled:
        return

    @app.task(name="vigil.canary", shared=False, ignore_result=True)  # type: ignore[untyped-decorator]
    def canary_task() -> None:
        run_canary(settings)

    app.conf.beat_schedule["vigil-canary"] = {
        "task": "vigil.canary",
        "schedule": float(settings.canary.interval_seconds),
    }
