"""siem benchmarks: `python -m bench.siem [--events N]` (or `vigil bench siem`); VIGIL_BENCH_QUICK=1 for a smoke run.

Measured in one run on the same Elasticsearch:
- ceiling: one process bulk-indexing pre-built ECS documents (`parallel_bulk`, 2 threads, 2,000-doc chunks,
  orjson serialisation, `op_type=create` with ids, the same index template), until the documents are searchable;
- pipeline: the same number of nginx lines through `POST /ingest/access` (uvicorn, real RS256 bearer token) into
  Redis, drained by `vigil worker --concurrency 3` (Celery + beat; VIGIL_BENCH_SIEM_WORKERS) into Elasticsearch,
  until searchable; ratio;
- latency from each 202 to searchable, sending at half of the measured pipeline rate (p50/p95);
- peak RSS of each worker process, and Redis memory per queued event (stream bytes / events, workers stopped).
The event count defaults to 1M (50k with VIGIL_BENCH_QUICK=1); `--events N` or VIGIL_BENCH_SIEM_EVENTS overrides.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
from elastic_transport import NdjsonSerializer
from elasticsearch import Elasticsearch
from elasticsearch.helpers import parallel_bulk

from bench.report import Row, table, write_section
from edgeauth import DecisionBuffer, EdgeAuthSettings, Guard, JwksCache, SigningKey, Verifier, mint_access_token
from siem import IndexLayout, Pipeline, SiemSettings, parse_record
from vigil import indices
from vigil.clients import elasticsearch_client, redis_client
from vigil.settings import VigilSettings, load_settings

QUICK = bool(os.environ.get("VIGIL_BENCH_QUICK"))
ROOT = Path(__file__).resolve().parents[1]
ISSUER = "https://issuer.bench.vigil"
AUDIENCE = "vigil"
BATCH_LINES = 5000
# One consumer more than cores: while one process parses, the others keep bulks in flight to Elasticsearch.
WORKERS = int(os.environ.get("VIGIL_BENCH_SIEM_WORKERS") or 3)
DAY = datetime(2026, 11, 29, tzinfo=UTC)


def nginx_line(n: int, agent: str = "bench/1.0") -> str:
    return (
        f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255} - - [29/Nov/2026:05:{n // 60 % 60:02d}:{n % 60:02d} +0000] "
        f'"GET /bench/items/{n}?page={n % 7} HTTP/1.1" {200 if n % 13 else 404} {512 + n % 4096} '
        f'"https://app.example/" "{agent}" rt=0.{n % 1000:03d}'
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _count(es: Elasticsearch, index: str, query: dict[str, Any] | None = None) -> int:
    result = es.count(index=index, query=query or {"match_all": {}}, ignore_unavailable=True, allow_no_indices=True)
    return int(result["count"])


def _wait_searchable(es: Elasticsearch, index: str, expected: int, limit: float) -> float:
    """Seconds until `expected` documents are searchable (no forced refresh: the index's own refresh)."""
    stop = time.monotonic() + limit
    while _count(es, index) < expected:
        if time.monotonic() > stop:
            raise SystemExit(f"bench: {index} did not reach {expected} searchable documents within {limit:.0f}s")
        time.sleep(0.2)
    return time.monotonic()


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


# -- ceiling -----------------------------------------------------------------------------------------------------


class OrjsonNdjson(NdjsonSerializer):
    """The ceiling gets the same orjson serialisation the pipeline's bulk writer uses."""

    def json_dumps(self, data: Any) -> bytes:
        return orjson.dumps(data)


def measure_ceiling(vigil: VigilSettings, settings: SiemSettings, events: int) -> float:
    es = Elasticsearch(vigil.es_url, request_timeout=120, serializers={"application/x-ndjson": OrjsonNdjson()})
    indices.apply(es, vigil.in_namespace(settings.namespace), owners=["siem"])
    layout = IndexLayout(settings)
    index = layout.index_for("access", DAY)
    template = parse_record("nginx", nginx_line(0), event_id="x", received=DAY)

    def actions() -> Iterator[dict[str, Any]]:
        for n in range(events):
            doc = dict(template)
            doc["event"] = {**template["event"], "id": f"c{n}", "original": f"ceiling line {n}"}
            doc["url"] = {"original": f"/bench/items/{n}", "path": f"/bench/items/{n}"}
            yield {"_op_type": "create", "_index": index, "_id": f"c{n}", "_source": doc}

    started = time.monotonic()
    for ok, item in parallel_bulk(es, actions(), thread_count=2, chunk_size=2000, queue_size=4):
        if not ok:
            raise SystemExit(f"bench: ceiling bulk item failed: {item}")
    ended = _wait_searchable(es, index, events, limit=600)
    return events / (ended - started)


# -- pipeline ----------------------------------------------------------------------------------------------------


def serve(port: int, prefix: str, jwks_file: str) -> None:
    """Child process: the ingest API alone (the routers `vigil` mounts), guarded by the bench key."""
    import uvicorn
    from fastapi import FastAPI

    from siem.http import create_router, create_shipper_router

    vigil = load_settings()
    edge = EdgeAuthSettings(issuer=ISSUER, audiences=(AUDIENCE,))
    keys = JwksCache(edge, initial=json.loads(Path(jwks_file).read_text()))
    guard = Guard(Verifier(edge, keys, decisions=DecisionBuffer(None)))
    pipeline = Pipeline(elasticsearch_client(vigil), redis_client(vigil), _siem_settings(prefix, 10**9))
    app = FastAPI()
    app.include_router(create_router(guard, pipeline))
    app.include_router(create_shipper_router(guard, pipeline))  # bench.shippers: rsyslog into the `_bulk` door
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _siem_settings(prefix: str, high_water_mark: int) -> SiemSettings:
    return SiemSettings(namespace=prefix, high_water_mark=high_water_mark, chunk_records=1000, batch_max_events=5000)


@dataclass
class Services:
    api: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    url: str
    token: str

    def stop(self) -> None:
        for proc in (self.api, self.worker):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)


def start_services(prefix: str, workdir: Path) -> Services:
    key = SigningKey.generate("RS256")
    jwks = workdir / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.public_jwk()]}))
    token = mint_access_token(
        key, issuer=ISSUER, audience=AUDIENCE, client_id="bench", subject="bench", scopes=["ingest:write"], ttl=7200
    )
    port = _free_port()
    env = {**os.environ, "VIGIL_HOME": str(workdir), "VIGIL_NAMESPACE": prefix,
           "VIGIL_SIEM__CHUNK_RECORDS": "1000", "VIGIL_SIEM__BATCH_MAX_EVENTS": "5000",
           "VIGIL_SIEM__HIGH_WATER_MARK": str(10**9)}  # fmt: skip
    log = (workdir / "services.log").open("ab")
    api = subprocess.Popen(
        [sys.executable, "-m", "bench.siem", "--serve", str(port), prefix, str(jwks)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT,
    )  # fmt: skip
    vigil = str(Path(sys.executable).with_name("vigil"))
    worker = subprocess.Popen(
        [vigil, "worker", "--concurrency", str(WORKERS), "--loglevel", "WARNING"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    stop = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/docs", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > stop:
                raise SystemExit(f"bench: ingest API did not start; see {workdir / 'services.log'}") from None
            time.sleep(0.2)
    return Services(api, worker, url, token)


def _post(client: httpx.Client, services: Services, body: bytes) -> None:
    while True:
        response = client.post(
            f"{services.url}/ingest/access", content=body, headers={"Authorization": f"Bearer {services.token}"}
        )
        if response.status_code == 202:
            return
        if response.status_code != 429:
            raise SystemExit(f"bench: ingest answered {response.status_code}: {response.text[:200]}")
        time.sleep(float(response.headers.get("retry-after", "1")))


def measure_pipeline(
    es: Elasticsearch, services: Services, layout: IndexLayout, events: int
) -> tuple[float, list[float]]:
    """Events/s from the first POST to all searchable, and the peak RSS (MiB) of each worker process."""
    batches = [(start, min(start + BATCH_LINES, events)) for start in range(0, events, BATCH_LINES)]
    cursor = iter(batches)
    lock = threading.Lock()
    peak_rss: dict[int, float] = {}
    done = threading.Event()

    def sender() -> None:
        with httpx.Client(timeout=60) as client:
            while True:
                with lock:
                    batch = next(cursor, None)
                if batch is None:
                    return
                _post(client, services, "\n".join(nginx_line(n) for n in range(*batch)).encode())

    def sample_rss() -> None:
        while not done.wait(0.5):
            for pid in _process_tree(services.worker.pid):
                peak_rss[pid] = max(peak_rss.get(pid, 0.0), _rss_mib(pid))

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    started = time.monotonic()
    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ended = _wait_searchable(es, layout.alias, events, limit=3600)
    done.set()
    sampler.join()
    return events / (ended - started), sorted(peak_rss.values(), reverse=True)


def measure_latency(es: Elasticsearch, services: Services, layout: IndexLayout, rate: float) -> tuple[float, float]:
    """p50/p95 seconds from each 202 to the batch being searchable, sending at `rate` events/s."""
    lines, seconds = 200, (8 if QUICK else 20)
    interval = lines / rate
    accepted: dict[int, float] = {}
    searchable: dict[int, float] = {}
    with httpx.Client(timeout=60) as client:
        next_send = time.monotonic()
        batch = 0
        stop_sending = next_send + seconds
        while time.monotonic() < stop_sending or len(searchable) < len(accepted):
            now = time.monotonic()
            if now >= next_send and now < stop_sending:
                body = "\n".join(nginx_line(10**8 + batch * lines + n, f"lat-{batch}") for n in range(lines))
                _post(client, services, body.encode())
                accepted[batch] = time.monotonic()
                batch += 1
                next_send += interval
            waiting = [b for b in accepted if b not in searchable]
            if waiting:
                searches: list[dict[str, Any]] = []
                for b in waiting[:50]:
                    searches += [
                        {"index": layout.alias},
                        {"size": 0, "query": {"term": {"user_agent.original": f"lat-{b}"}}},
                    ]
                responses = es.msearch(searches=searches)["responses"]
                seen = time.monotonic()
                for b, response in zip(waiting[:50], responses, strict=True):
                    if response.get("hits", {}).get("total", {}).get("value", 0) >= lines:
                        searchable[b] = seen
            time.sleep(min(0.05, max(0.0, next_send - time.monotonic())))
            if time.monotonic() > stop_sending + 120:
                raise SystemExit("bench: latency batches not searchable within 120 s")
    latencies = sorted(searchable[b] - accepted[b] for b in searchable)
    return latencies[len(latencies) // 2], latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]


def measure_redis_memory(prefix: str, events: int) -> float:
    """Bytes of stream per queued event, with no worker reading."""
    vigil = load_settings()
    redis = redis_client(vigil)
    pipeline = Pipeline(elasticsearch_client(vigil), redis, _siem_settings(prefix, 10**9))
    for start in range(0, events, BATCH_LINES):
        pipeline.push("nginx", [nginx_line(n) for n in range(start, min(start + BATCH_LINES, events))])
    used = cast(int, redis.memory_usage(pipeline.settings.stream_key, samples=0))
    keys = list(redis.scan_iter(match=f"{prefix}*"))
    if keys:
        redis.delete(*keys)
    return used / events


# -- report ------------------------------------------------------------------------------------------------------


def cleanup(es: Elasticsearch, prefix: str) -> None:
    names = list(es.options(ignore_status=404).indices.get(index=f"{prefix}*", expand_wildcards="all").body or {})
    if names:
        es.options(ignore_status=404).indices.delete(index=",".join(names))
    found = es.options(ignore_status=404).indices.get_index_template(name=f"{prefix}*").body
    for template in found.get("index_templates", []) if isinstance(found, dict) else []:
        es.options(ignore_status=404).indices.delete_index_template(name=template["name"])
    for component in (f"{prefix}-ecs-logs", f"{prefix}c-ecs-logs"):
        es.options(ignore_status=404).cluster.delete_component_template(name=component)
    redis = redis_client(load_settings())
    keys = list(redis.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        redis.delete(*keys)


def render(rows: list[Row], events: int) -> str:
    lines = [
        f"### siem ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores shared with Elasticsearch, Redis "
        f"and the other engineers' work; {events:,} events{', QUICK smoke run' if QUICK else ''})",
        "",
        *table(rows),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.siem")
    default = int(os.environ.get("VIGIL_BENCH_SIEM_EVENTS") or (50_000 if QUICK else 1_000_000))
    parser.add_argument("--events", type=int, default=default, help="events per run (ceiling and pipeline each)")
    parser.add_argument("--serve", nargs=3, metavar=("PORT", "PREFIX", "JWKS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], args.serve[2])
        return
    events: int = args.events
    vigil = load_settings()
    es = elasticsearch_client(vigil, request_timeout=120)
    prefix = f"benchsiem{uuid.uuid4().hex[:8]}"
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="vigil-bench-siem-") as tmp:
        try:
            print(f"siem bench: ceiling, {events:,} pre-built documents ...", file=sys.stderr, flush=True)
            ceiling = measure_ceiling(vigil, _siem_settings(f"{prefix}c", 10**9), events)
            print("siem bench: pipeline through HTTP ingest ...", file=sys.stderr, flush=True)
            layout = IndexLayout(_siem_settings(prefix, 10**9))
            services = start_services(prefix, Path(tmp))
            try:
                rate, rss = measure_pipeline(es, services, layout, events)
                print("siem bench: latency at half peak ...", file=sys.stderr, flush=True)
                p50, p95 = measure_latency(es, services, layout, rate / 2)
            finally:
                services.stop()
            print("siem bench: Redis memory per queued event ...", file=sys.stderr, flush=True)
            per_event = measure_redis_memory(f"{prefix}m", min(events, 200_000))
        finally:
            cleanup(es, prefix)
    ratio = rate / ceiling
    rows = [
        Row("ceiling: `parallel_bulk` of pre-built ECS docs (events/s)", "", f"{ceiling:,.0f}", "", "(baseline)"),
        Row(
            "pipeline: nginx lines, HTTP ingest -> Redis Stream -> Celery -> searchable (events/s)",
            f"{rate:,.0f}",
            f"ceiling {ceiling:,.0f}",
            f"{ratio:.2f}x",
            ">= 0.6x",
            ratio >= 0.6,
            f"3 HTTP senders x 5,000-line batches; `vigil worker --concurrency {WORKERS}`",
        ),
        Row(
            "latency 202 -> searchable at half of peak, p50 / p95",
            f"{p50:.2f} / {p95:.2f} s",
            "",
            "",
            "p95 <= 5 s",
            p95 <= 5,
            f"{rate / 2:,.0f} events/s in 200-line batches; index refresh 1 s, batch age bound 1 s",
        ),
        Row(
            "worker RSS per process (peak)",
            " / ".join(f"{mib:.0f}" for mib in rss) + " MiB",
            "",
            "",
            "(reported)",
            None,
            f"every process of `vigil worker --concurrency {WORKERS}`: main, embedded beat, pool processes",
        ),
        Row("Redis memory per queued event", f"{per_event:.0f} B", "", "", "(reported)", None, "nginx line ~190 B"),
    ]
    table = render(rows, events)
    print(table)
    write_section("siem", table)


if __name__ == "__main__":
    main()
