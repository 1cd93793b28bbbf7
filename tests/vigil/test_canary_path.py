"""Two canary tiers the whole way on real services: the Vigil app (issuer, ingest) and the edge verifier as
processes, nginx (`auth_request`) in front of the demo storefront, Redis and Elasticsearch. One tier's upstream is
slow (the storefront's fault switch names its canary client): its SLA is missed, the other tier's is met."""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from elasticsearch import Elasticsearch

from compliance import CheckContext, Outcome, Period, load_evidence, run_check, sla_attainment
from edgeauth import KeyStore
from evidence import EvidenceLocker
from siem import Pipeline
from tests.fixtures.loopback import served_on
from vigil.canary.runner import run_canary, secret_path
from vigil.clients import elasticsearch_client, redis_client
from vigil.demo.sample_api import create_sample_api
from vigil.demo.stack import nginx_binary
from vigil.settings import VigilSettings, load_settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
APP, EDGE, STOREFRONT, NGINX = 18750, 18751, 18752, 18753
SLOW_MS = 400


def _tier(tier: str, latency_ms: int) -> dict[str, object]:
    return {
        "name": f"{tier}-orders",
        "tier": tier,
        "clients": [f"client-{tier}"],
        "client_id": f"canary-{tier}",
        "scopes": ["orders:read", "ingest:write"],
        "endpoints": ["/api/orders", "/api/search"],
        "interval_seconds": 60,
        "probes": 2,
        "objectives": {"availability_percent": 99.0, "latency_ms": latency_ms, "latency_percentile": 95},
    }


@dataclass
class Whole:
    settings: VigilSettings
    slow_switch: Path


def _wait(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@pytest.fixture
def whole_path(
    es_namespace: str, redis_namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Whole]:
    definitions = tmp_path / "canaries.yaml"
    definitions.write_text(yaml.safe_dump({"canaries": [_tier("gold", 250), _tier("bronze", 3000)]}), encoding="utf-8")
    app_url = f"http://127.0.0.1:{APP}"
    env = {
        "VIGIL_HOME": str(tmp_path / "home"),
        "VIGIL_NAMESPACE": es_namespace,
        "VIGIL_EDGEAUTH__ISSUER": app_url,
        "VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY": "canary-path-test-kek",
        "VIGIL_EDGEAUTH__SCOPE_RULES": json.dumps([{"method": "*", "path_prefix": "/api", "scopes": ["orders:read"]}]),
        "VIGIL_EDGEAUTH__TRUSTED_PROXIES": json.dumps(["127.0.0.1/32"]),
        "VIGIL_CANARY__ISSUER_URL": app_url,
        "VIGIL_CANARY__PROXY_URL": f"http://127.0.0.1:{NGINX}",
        "VIGIL_CANARY__DEFINITIONS": str(definitions),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    base = load_settings()
    monkeypatch.setenv(
        "VIGIL_EDGEAUTH__OAUTH__SCOPES_SUPPORTED",
        json.dumps(sorted({*base.edgeauth.oauth.scopes_supported, "orders:read"})),
    )
    settings = load_settings()
    KeyStore(redis_client(settings), settings.edgeauth).ensure()
    Pipeline(elasticsearch_client(settings), redis_client(settings), settings.siem).setup()

    prefix = tmp_path / "nginx"
    for folder in ("logs", "tmp"):
        (prefix / folder).mkdir(parents=True)
    template = string.Template((ROOT / "deploy/nginx/nginx.conf.template").read_text(encoding="utf-8"))
    (prefix / "nginx.conf").write_text(
        template.safe_substitute(
            LISTEN=f"127.0.0.1:{NGINX}",
            VERIFIER=f"127.0.0.1:{EDGE}",
            VERIFIER_2=f"127.0.0.1:{EDGE}",
            UPSTREAM=f"127.0.0.1:{STOREFRONT}",
        ),
        encoding="utf-8",
    )
    switch = tmp_path / "slow-clients.json"
    storefront = create_sample_api(tmp_path / "access.log", tmp_path / "exceptions.log", slow_upstream=switch)
    child_env = {**os.environ}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "vigil.cli", "serve", "--host", "127.0.0.1", "--port", str(APP)],
            env=child_env,
            cwd=ROOT,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "vigil.cli", "edge", "serve", "--host", "127.0.0.1", "--port", str(EDGE)],
            env=child_env,
            cwd=ROOT,
        ),
    ]
    try:
        _wait(f"{app_url}/healthz", procs[0])
        _wait(f"http://127.0.0.1:{EDGE}/readyz", procs[1])
        with served_on(storefront, STOREFRONT):
            procs.append(
                subprocess.Popen([nginx_binary(), "-p", f"{prefix}/", "-c", "nginx.conf", "-e", "logs/error.log"])
            )
            _wait(f"http://127.0.0.1:{NGINX}/", procs[-1])
            yield Whole(settings, switch)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_each_tier_probes_as_its_own_client_and_only_the_slow_tier_misses(whole_path: Whole, es: Elasticsearch) -> None:
    settings = whole_path.settings
    whole_path.slow_switch.write_text(json.dumps({"clients": ["canary-gold"], "delay_ms": SLOW_MS}), encoding="utf-8")
    started = datetime.now(UTC)
    first = {r.definition.tier: r for r in run_canary(settings)}
    pipeline = Pipeline(elasticsearch_client(settings), redis_client(settings), settings.siem)
    pipeline.drain()
    second = {r.definition.tier: r for r in run_canary(settings)}
    pipeline.drain()

    # Every probe went the whole way, as each tier's own client; the secrets stayed private.
    for reports in (first, second):
        assert {tier: r.success_rate for tier, r in reports.items()} == {"gold": 1.0, "bronze": 1.0}
    for tier in ("gold", "bronze"):
        assert secret_path(settings, f"canary-{tier}").stat().st_mode & 0o077 == 0
    gold_latency = [p.request_latency_ms for p in first["gold"].probes]
    assert all(v is not None and v >= SLOW_MS for v in gold_latency), gold_latency
    assert second["gold"].previous_marker_indexed is True
    assert second["bronze"].previous_marker_indexed is True

    # The probes are `canary` events: ECS duration in nanoseconds, outcome, tier, clients, slow against the objective.
    hits = es.search(index=f"{settings.namespace}-logs-canary-*", size=100, query={"match_all": {}})["hits"]["hits"]
    events = [h["_source"] for h in hits]
    assert len(events) == 8
    gold = [e for e in events if e["vigil"]["canary"]["tier"] == "gold"]
    assert {e["client"]["id"] for e in gold} == {"canary-gold"}
    assert all(e["event"]["dataset"] == "canary" and e["event"]["outcome"] == "success" for e in events)
    assert all(e["event"]["duration"] >= SLOW_MS * 1_000_000 for e in gold)
    assert all(e["vigil"]["canary"]["slow"] is True for e in gold)
    assert all(e["vigil"]["canary"]["slow"] is False for e in events if e["vigil"]["canary"]["tier"] == "bronze")
    assert {tuple(e["vigil"]["canary"]["clients"]) for e in gold} == {("client-gold",)}

    # The runs are SLA evidence: gold missed its latency objective, bronze met both; the check says so once.
    locker = EvidenceLocker(elasticsearch_client(settings), redis_client(settings), settings.evidence)
    period = Period(start=started - timedelta(seconds=1), end=datetime.now(UTC) + timedelta(seconds=1))
    gold_sla = sla_attainment(locker, period, client="client-gold")
    assert (gold_sla.status, gold_sla.availability_met, gold_sla.latency_met) == ("missed", True, False)
    assert gold_sla.runs == 2
    assert sla_attainment(locker, period, tier="bronze").status == "met"
    verdict = run_check(
        "availability.sla_attained", CheckContext(period=period, evidence=load_evidence(locker, period))
    )
    assert verdict.outcome is Outcome.FAIL
    assert len(verdict.findings) == 1
    assert verdict.findings[0].startswith("tier gold (client-gold): SLA missed: latency: 0.00% of good probes")
    assert verdict.thresholds["gold"]["objectives"][0]["latency_ms"] == 250
