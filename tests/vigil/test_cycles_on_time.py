"""Detection cycles never starve behind ingestion: `vigil worker --concurrency 1` with a stream kept busy still
runs every rule on its interval, because cycles have their own queue and worker node; an idle pump frees its
process instead of re-queueing itself."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
import redis
from elasticsearch import Elasticsearch

from detections.selftest.scratch import remove_prefix
from siem import Pipeline, SiemSettings
from tests.vigil.running import RunningVigil, wait_for

pytestmark = pytest.mark.integration

SCANNER = "ac205f40-caa4-4100-a77d-592b520fcf38"
INTERVAL = 3


def _line(n: int) -> str:
    return f'192.0.2.{n % 250 + 1} - - [01/Dec/2026:10:00:00 +0000] "GET /p{n} HTTP/1.1" 200 12 "-" "curl/8.5.0"'


def test_cycles_run_on_their_interval_with_one_busy_ingest_process(
    es: Elasticsearch, redis_conn: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    pipeline = Pipeline(es, redis_conn, SiemSettings(namespace=namespace))
    pipeline.setup()
    vigil = RunningVigil(namespace, tmp_path, VIGIL_DETECTIONS__INTERVAL_SECONDS=str(INTERVAL))
    stop = threading.Event()
    pushed = [0]

    def busy() -> None:  # more than one process drains: the stream never runs dry while the test watches
        while not stop.is_set():
            pipeline.push("nginx", [_line(pushed[0] + i) for i in range(200)])
            pushed[0] += 200
            stop.wait(0.05)

    pusher = threading.Thread(target=busy, daemon=True)
    last_run_key = f"{namespace}:detections:last-run"
    runs: list[datetime] = []
    try:
        pusher.start()
        vigil.start_worker()
        wait_for(lambda: redis_conn.hget(last_run_key, SCANNER) is not None, "the first detection cycle", 120)
        watch_until = time.monotonic() + 8 * INTERVAL
        while time.monotonic() < watch_until:
            raw = redis_conn.hget(last_run_key, SCANNER)
            stamp = datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else str(raw))
            if not runs or stamp != runs[-1]:
                runs.append(stamp)
            time.sleep(0.2)
        assert pipeline.stream.depth() > 0, "the stream ran dry: the test did not keep ingestion busy"
    finally:
        stop.set()
        pusher.join(timeout=10)
        vigil.stop()
        remove_prefix(es, redis_conn, namespace)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(runs)]
    # before cycles had their own queue and node, none ran at all in 90 s with --concurrency 1
    assert len(runs) >= 5, (runs, vigil.log_text()[-2000:])
    assert max(gaps) <= INTERVAL + 6, gaps


def test_an_idle_pump_returns_at_once_instead_of_holding_its_process(
    es: Elasticsearch, redis_conn: redis.Redis, namespace: str
) -> None:
    pipeline = Pipeline(es, redis_conn, SiemSettings(namespace=namespace))
    pipeline.setup()
    try:
        start = time.monotonic()
        report = pipeline.pump(30.0)
        held = time.monotonic() - start
    finally:
        remove_prefix(es, redis_conn, namespace)
    assert report.entries == 0
    assert held < 10, held  # one blocking read of at most 1 s, not the 30 s asked for
