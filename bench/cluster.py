"""Scale-out benchmarks: `python -m bench.cluster [--events N] [--rounds R]` (or `vigil bench cluster`).

Measured in one run, interleaved (1-node, 3-node, 1-node, 3-node, ...; medians over the rounds):
- per cluster, the raw bulk ceiling (`bench.siem.measure_ceiling`: pre-built ECS documents, `parallel_bulk`) and the
  pipeline (HTTP ingest -> Redis Stream -> `vigil worker` -> searchable) into that same cluster, and their ratio.
  The 1-node cluster is the configured one (`VIGIL_ES_URL`); the 3-node cluster is started here from the same
  distribution on `VIGIL_BENCH_CLUSTER_PORT` (9210; transport `VIGIL_BENCH_TRANSPORT_PORT`, 9310) and stopped after.
  Every Vigil index gets one replica on three data nodes, so the 3-node rows include the cost of replication.
  On one 2-core machine a cluster is not faster: the point is each ratio to its own ceiling.
- the cost of `WAIT`: ingest batches pushed into a Redis primary with one replica and three Sentinels
  (`VIGIL_BENCH_REDIS_PORT`, 6400; Sentinels from `VIGIL_BENCH_SENTINEL_PORT`, 26400), with `wait_replicas` 0
  and 1 alternately, batches per second and p50/p95 acknowledgement latency.
Events default to 200,000 per measurement (20,000 with VIGIL_BENCH_QUICK=1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from pydantic import SecretStr

from bench.report import Row, percentile, table, write_section
from bench.siem import _siem_settings, cleanup, measure_ceiling, measure_pipeline, nginx_line, start_services
from siem import IndexLayout, Pipeline, QueueUnavailableError
from vigil import services
from vigil.clients import elasticsearch_client, redis_client
from vigil.settings import VigilSettings, load_settings

QUICK = bool(os.environ.get("VIGIL_BENCH_QUICK"))
CLUSTER_PORT = int(os.environ.get("VIGIL_BENCH_CLUSTER_PORT") or 9210)
TRANSPORT_PORT = int(os.environ.get("VIGIL_BENCH_TRANSPORT_PORT") or 9310)
REDIS_PORT = int(os.environ.get("VIGIL_BENCH_REDIS_PORT") or 6400)
SENTINEL_PORT = int(os.environ.get("VIGIL_BENCH_SENTINEL_PORT") or 26400)
WAIT_BATCHES = 200 if QUICK else 1000
BATCH_LINES = 500


def _say(message: str) -> None:
    print(f"cluster bench: {message}", file=sys.stderr, flush=True)


def ingest_round(vigil: VigilSettings, events: int) -> tuple[float, float]:
    """(ceiling, pipeline) events/s into the cluster of `vigil.es_url`, each under a fresh namespace."""
    es = elasticsearch_client(vigil, request_timeout=120)
    prefix = f"benchcl{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="vigil-bench-cluster-") as tmp:
        try:
            ceiling = measure_ceiling(vigil, _siem_settings(f"{prefix}c", 10**9), events)
            os.environ["VIGIL_ES_URL"] = vigil.es_url  # the ingest API and worker children write to this cluster
            served = start_services(prefix, Path(tmp))
            try:
                rate, _ = measure_pipeline(es, served, IndexLayout(_siem_settings(prefix, 10**9)), events)
            finally:
                served.stop()
        finally:
            cleanup(es, prefix)
    return ceiling, rate


def wait_round(pipeline: Pipeline, batches: int) -> tuple[float, list[float]]:
    """Batches/s and per-batch acknowledgement latencies (s) of `batches` pushes of BATCH_LINES lines."""
    body = [nginx_line(n) for n in range(BATCH_LINES)]
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(batches):
        t0 = time.perf_counter()
        while True:
            try:
                pipeline.push("nginx", body)
                break
            except QueueUnavailableError:
                time.sleep(0.01)  # a replica did not confirm in time: the producer retries, as in production
        latencies.append(time.perf_counter() - t0)
    return batches / (time.perf_counter() - started), latencies


def measure_wait(base: VigilSettings, rounds: int, home: Path) -> dict[int, tuple[list[float], list[float]]]:
    topology = services.redis_failover(
        base.model_copy(
            update={
                "home": home,
                "redis_url": SecretStr(f"redis://127.0.0.1:{REDIS_PORT}/0"),
                "redis_sentinel_port": SENTINEL_PORT,
            }
        ),
        replicas=1,
        sentinels=3,
    )
    results: dict[int, tuple[list[float], list[float]]] = {0: ([], []), 1: ([], [])}
    try:
        topology.up()
        client = redis_client(topology.settings)
        namespace = f"benchwait{uuid.uuid4().hex[:8]}"
        es = elasticsearch_client(base)
        for _ in range(rounds):
            for wanted in (0, 1):
                siem = topology.settings.in_namespace(namespace).siem.model_copy(
                    update={"wait_replicas": wanted, "high_water_mark": 10**9}
                )
                pipeline = Pipeline(es, client, siem)
                pipeline.setup()
                rate, latencies = wait_round(pipeline, WAIT_BATCHES)
                results[wanted][0].append(rate)
                results[wanted][1].extend(latencies)
                client.delete(siem.stream_key, siem.depth_key, siem.stats_key)
    finally:
        topology.down()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster")
    parser.add_argument("--events", type=int, default=20_000 if QUICK else 200_000, help="events per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per cluster")
    args = parser.parse_args()
    base = load_settings()
    three = base.model_copy(
        update={
            "es_url": f"http://127.0.0.1:{CLUSTER_PORT}",
            "es_transport_port": TRANSPORT_PORT,
            "es_start_timeout": 300.0,
        }
    )
    cluster = services.cluster(three, 3)
    runs: dict[str, list[tuple[float, float]]] = {"1 node": [], "3 nodes": []}
    original_url = os.environ.get("VIGIL_ES_URL")
    with tempfile.TemporaryDirectory(prefix="vigil-bench-redis-") as redis_home:
        try:
            _say("starting the 3-node cluster ...")
            cluster.up()
            for r in range(args.rounds):
                for name, target in (("1 node", base), ("3 nodes", three)):
                    _say(f"round {r + 1}: {name}, ceiling then pipeline, {args.events:,} events each ...")
                    runs[name].append(ingest_round(target, args.events))
            _say("WAIT cost on a primary with one replica ...")
            waits = measure_wait(base, args.rounds, Path(redis_home))
        finally:
            if original_url is None:
                os.environ.pop("VIGIL_ES_URL", None)
            else:
                os.environ["VIGIL_ES_URL"] = original_url
            cluster.down()
            cluster.erase()
    rows: list[Row] = []
    for name, measured in runs.items():
        ceiling = statistics.median(c for c, _ in measured)
        rate = statistics.median(p for _, p in measured)
        rows.append(
            Row(
                f"pipeline into a {name} cluster (events/s)",
                f"{rate:,.0f}",
                f"bulk ceiling {ceiling:,.0f}",
                f"{rate / ceiling:.2f}x",
                "(reported)",
                None,
                f"median of {args.rounds} interleaved rounds, {args.events:,} events each"
                + ("; 1 replica per index" if name == "3 nodes" else "; 0 replicas"),
            )
        )
    off_rate, off_lat = statistics.median(waits[0][0]), waits[0][1]
    on_rate, on_lat = statistics.median(waits[1][0]), waits[1][1]
    rows.append(
        Row(
            f"ingest acknowledgement with WAIT 1 ({BATCH_LINES}-line batches/s)",
            f"{on_rate:,.0f}",
            f"no WAIT {off_rate:,.0f}",
            f"{on_rate / off_rate:.2f}x",
            "(reported)",
            None,
            f"p50/p95 {percentile(on_lat, 0.5) * 1000:.1f}/{percentile(on_lat, 0.95) * 1000:.1f} ms vs "
            f"{percentile(off_lat, 0.5) * 1000:.1f}/{percentile(off_lat, 0.95) * 1000:.1f} ms; primary and replica "
            "with appendfsync always, one machine",
        )
    )
    body = "\n".join(
        [
            "## Scale-out: 1-node and 3-node clusters, and the cost of WAIT",
            "",
            f"`vigil bench cluster` on {os.cpu_count()} cores; every row against its baseline in the same run.",
            "",
            *table(rows),
        ]
    )
    print(body)
    write_section("cluster", body)


if __name__ == "__main__":
    main()
