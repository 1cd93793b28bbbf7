"""Shippers benchmark: `python -m bench.shippers [--events N] [--rounds R]` (or `vigil bench shippers`).

The same varied nginx combined lines (a file per round), until searchable, in one run on the same Elasticsearch,
rows interleaved round by round (A B C D E, A B C D E, ...) and reported as medians:
- rsyslog `imfile` -> `omelasticsearch` straight into Elasticsearch, raw lines (in-memory queues);
- the same with `mmnormalize` parsing the fields (liblognorm rulebase; untyped strings);
- rsyslog `imfile` -> `omelasticsearch` into Vigil's `_bulk` door -> Redis Stream -> `vigil worker` (typed ECS);
- `vigil ingest file` -> Redis Stream -> the same workers;
- the ceiling: `parallel_bulk` of pre-built ECS documents (bench.siem's).
Peak RSS of rsyslog and of the worker tree are reported beside. Defaults: 300,000 events, 3 rounds (QUICK: 20,000).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from elasticsearch import ApiError, Elasticsearch

from bench.report import Row, table, write_section
from bench.siem import (
    ROOT,
    WORKERS,
    Services,
    _process_tree,
    _rss_mib,
    _siem_settings,
    _wait_searchable,
    cleanup,
    measure_ceiling,
    nginx_line,
    start_services,
)
from siem import IndexLayout
from vigil.clients import elasticsearch_client
from vigil.settings import VigilSettings, load_settings

QUICK = bool(os.environ.get("VIGIL_BENCH_QUICK"))
RSYSLOGD = "/usr/sbin/rsyslogd"
# liblognorm v2 rulebase for the combined format (what mmnormalize needs to split a line into fields).
RULEBASE = """version=2
rule=:%clientip:word% %ident:word% %auth:word% [%timestamp:char-to{"extradata":"]"}%] \
"%request:char-to{"extradata":"\\""}%" %status:number% %bytes:number% \
"%referrer:char-to{"extradata":"\\""}%" "%agent:char-to{"extradata":"\\""}%"%rest:rest%
"""
QUEUES = 'queue.type="LinkedList" queue.size="200000" queue.dequeueBatchSize="2000"'
# Every rsyslog row retries what its server refused (a loaded Elasticsearch answers 429 per item as Vigil does):
# rsyslog's own retry (docs/siem.md), so no row loses lines and each is timed to the last line searchable.
OUTPUT = (
    'action(type="omelasticsearch" server="{host}" serverport="{port}" searchIndex="{index}" template="{template}" '
    'bulkmode="on" maxbytes="10m" esVersion.major="8" {auth} ' + QUEUES + ' action.resumeRetryCount="-1" '
    'retryfailures="on" retryruleset="ship" ratelimit.interval="0")'
)


def _rsyslog_config(work: Path, log: Path, output: str, *, normalize: Path | None) -> str:
    parse = (
        f'if strlen($.omes!status) == 0 then action(type="mmnormalize" rulebase="{normalize}" useRawMsg="on")'
        if normalize
        else ""
    )
    # A retried item comes back with its answer in $.omes and its document in $!: answered ones stop, the others
    # are sent again as they were (not parsed twice). The raw template ends without a newline: omelasticsearch's
    # retry cannot read back a request holding blank lines.
    return f"""
global(workDirectory="{work}")
module(load="imfile")
module(load="omelasticsearch")
{'module(load="mmnormalize")' if normalize else ""}
template(name="raw" type="string" string="{{\\"message\\":\\"%msg:::json%\\"}}")
template(name="parsed" type="list") {{ property(name="$!all-json") }}
input(type="imfile" file="{log}" tag="nginx" ruleset="ship")
ruleset(name="ship" {QUEUES}) {{
  if strlen($.omes!status) > 0 then {{
    if $.omes!status == 200 or $.omes!status == 201 or $.omes!status == 409 or $.omes!status == 400 then stop
  }}
  {parse}
  {output}
}}
"""


def _searchable(es: Elasticsearch, index: str, expected: int, limit: float) -> float:
    """`bench.siem._wait_searchable`, riding out the 503s of an index rsyslog's first bulk is still creating."""
    stop = time.monotonic() + limit
    while True:
        try:
            return _wait_searchable(es, index, expected, max(1.0, stop - time.monotonic()))
        except ApiError as exc:
            if exc.meta.status != 503 or time.monotonic() > stop:
                raise
            time.sleep(0.2)


def _write_log(path: Path, events: int, round_no: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for n in range(events):
            out.write(nginx_line(round_no * 10_000_000 + n, agent=f"bench/{round_no}") + "\n")


def _peak_rss(pids: Callable[[], list[int]], done: threading.Event, peak: list[float]) -> None:
    while not done.wait(0.5):
        peak[0] = max(peak[0], sum(_rss_mib(pid) for pid in pids()))


def _timed(run: Callable[[], None], wait: Callable[[], float], pids: Callable[[], list[int]]) -> tuple[float, float]:
    """Seconds from the start of `run` to `wait` returning, and the peak summed RSS (MiB) of `pids` meanwhile."""
    done, peak = threading.Event(), [0.0]
    sampler = threading.Thread(target=_peak_rss, args=(pids, done, peak), daemon=True)
    sampler.start()
    started = time.monotonic()
    run()
    ended = wait()
    done.set()
    sampler.join()
    return ended - started, peak[0]


def rsyslog_round(
    workdir: Path, log: Path, output: str, wait: Callable[[], float], normalize: Path | None
) -> tuple[float, float]:
    work = workdir / f"rsyslog-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    conf = work / "rsyslog.conf"
    conf.write_text(_rsyslog_config(work, log, output, normalize=normalize), encoding="utf-8")
    # A configuration rsyslog only half understands would run and ship nothing: refuse it before timing anything.
    check = subprocess.run([RSYSLOGD, "-N1", "-f", str(conf)], capture_output=True, text=True, timeout=60, check=False)
    if check.returncode != 0:
        raise SystemExit(f"bench: rsyslog refused its configuration: {check.stderr or check.stdout}")
    proc: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        proc.append(
            subprocess.Popen(
                [RSYSLOGD, "-n", "-f", str(conf), "-i", str(work / "pid")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    try:
        return _timed(start, wait, lambda: [proc[0].pid] if proc else [])
    finally:
        for p in proc:
            p.terminate()
            p.wait(timeout=30)


def file_round(
    vigil_env: dict[str, str], log: Path, wait: Callable[[], float], workers: Services
) -> tuple[float, float]:
    vigil = str(Path(sys.executable).with_name("vigil"))

    def run() -> None:
        subprocess.run(
            [vigil, "ingest", "file", str(log), "--format", "nginx"],
            env=vigil_env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    return _timed(run, wait, lambda: _process_tree(workers.worker.pid))


def render(rows: list[Row], events: int, rounds: int) -> str:
    return "\n".join(
        [
            f"### shippers ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores shared with Elasticsearch "
            f"and Redis, 1-min load average {os.getloadavg()[0]:.1f} at the end; {events:,} nginx lines per row and "
            f"round, {rounds} interleaved rounds, medians{', QUICK smoke run' if QUICK else ''})",
            "",
            *table(rows),
            "",
            "Each row's time runs from starting its shipper (rsyslog, or the `vigil ingest file` process) to the last "
            "line searchable, so at small line counts start-up weighs on every row; the goals are for 300,000 lines.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.shippers")
    parser.add_argument("--events", type=int, default=20_000 if QUICK else 300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    events, rounds = int(args.events), int(args.rounds)
    if not Path(RSYSLOGD).exists():
        raise SystemExit("bench: rsyslogd is missing; run `make system-deps` (rsyslog, rsyslog-elasticsearch)")
    vigil: VigilSettings = load_settings()
    es: Elasticsearch = elasticsearch_client(vigil, request_timeout=120)
    es_host = urlsplit(vigil.es_url)
    prefix = f"benchship{uuid.uuid4().hex[:8]}"
    layout = IndexLayout(_siem_settings(prefix, 10**9))
    results: dict[str, list[float]] = {k: [] for k in ("raw", "mmnormalize", "bulk", "file", "ceiling")}
    rss: dict[str, list[float]] = {k: [] for k in ("raw", "mmnormalize", "bulk", "workers")}
    with tempfile.TemporaryDirectory(prefix="vigil-bench-shippers-") as tmp:
        workdir = Path(tmp)
        rulebase = workdir / "nginx.rulebase"
        rulebase.write_text(RULEBASE, encoding="utf-8")
        services = start_services(prefix, workdir)
        env = {**os.environ, "VIGIL_HOME": str(workdir), "VIGIL_NAMESPACE": prefix,
               "VIGIL_SIEM__TAIL_STATE_DIR": str(workdir / "tail")}  # fmt: skip
        in_vigil = 0

        def rsyslog_to_elasticsearch(row: str, round_no: int) -> None:
            log = workdir / f"{row}-{round_no}.log"
            _write_log(log, events, round_no)
            index = f"{prefix}-{row}-{round_no}"
            output = OUTPUT.format(
                host=es_host.hostname, port=es_host.port or 9200, index=index,
                template="parsed" if row == "mmnormalize" else "raw", auth="",
            )  # fmt: skip
            seconds, peak = rsyslog_round(
                workdir,
                log,
                output,
                functools.partial(_searchable, es, index, events, 1800),
                rulebase if row == "mmnormalize" else None,
            )
            results[row].append(events / seconds)
            rss[row].append(peak)

        def rsyslog_to_vigil(round_no: int) -> None:
            nonlocal in_vigil
            log = workdir / f"bulk-{round_no}.log"
            _write_log(log, events, 100 + round_no)
            in_vigil += events
            port = int(services.url.rsplit(":", 1)[1])
            output = OUTPUT.format(
                host="127.0.0.1", port=port, index="access", template="raw",
                auth=f'uid="bench" pwd="{services.token}"',
            )  # fmt: skip
            seconds, peak = rsyslog_round(
                workdir, log, output, functools.partial(_searchable, es, layout.alias, in_vigil, 1800), None
            )
            results["bulk"].append(events / seconds)
            rss["bulk"].append(peak)

        def vigil_file(round_no: int) -> None:
            nonlocal in_vigil
            log = workdir / f"file-{round_no}.log"
            _write_log(log, events, 200 + round_no)
            in_vigil += events
            seconds, peak = file_round(
                env, log, functools.partial(_searchable, es, layout.alias, in_vigil, 1800), services
            )
            results["file"].append(events / seconds)
            rss["workers"].append(peak)

        def ceiling(round_no: int) -> None:
            results["ceiling"].append(measure_ceiling(vigil, _siem_settings(f"{prefix}c{round_no}", 10**9), events))

        runs: list[Callable[[int], None]] = [
            functools.partial(rsyslog_to_elasticsearch, "raw"),
            functools.partial(rsyslog_to_elasticsearch, "mmnormalize"),
            rsyslog_to_vigil,
            vigil_file,
            ceiling,
        ]
        try:
            for round_no in range(rounds):
                print(f"shippers bench: round {round_no + 1}/{rounds}", file=sys.stderr, flush=True)
                # Each round starts from a different row, so no row always runs first on a warm or cold machine.
                shift = round_no % len(runs)
                for run in runs[shift:] + runs[:shift]:
                    run(round_no)
        finally:
            services.stop()
            cleanup(es, prefix)
    median = {k: statistics.median(v) for k, v in results.items()}
    rows = _rows(median, {k: max(v) for k, v in rss.items() if v})
    text = render(rows, events, rounds)
    print(text)
    write_section("shippers", text)


def _rows(m: dict[str, float], rss: dict[str, float]) -> list[Row]:
    def rate(value: float) -> str:
        return f"{value:,.0f}"

    best_vigil = max(m["bulk"], m["file"])
    return [
        Row("rsyslog `omelasticsearch` -> Elasticsearch, raw lines (events/s)", "", rate(m["raw"]), "", "(baseline)",
            None, f"rsyslog peak RSS {rss.get('raw', 0):.0f} MiB"),
        Row("rsyslog + `mmnormalize` -> Elasticsearch, parsed strings (events/s)", "", rate(m["mmnormalize"]), "",
            "(baseline)", None, f"rsyslog peak RSS {rss.get('mmnormalize', 0):.0f} MiB"),
        Row("`parallel_bulk` of pre-built ECS documents (events/s)", "", rate(m["ceiling"]), "", "(ceiling)"),
        Row("rsyslog `omelasticsearch` -> Vigil `_bulk` -> stream -> workers, typed ECS (events/s)", rate(m["bulk"]),
            f"mmnormalize {rate(m['mmnormalize'])}", f"{m['bulk'] / m['mmnormalize']:.2f}x", ">= 1.0x",
            m["bulk"] >= m["mmnormalize"], f"rsyslog peak RSS {rss.get('bulk', 0):.0f} MiB"),
        Row("`vigil ingest file` -> stream -> workers, typed ECS (events/s)", rate(m["file"]),
            f"mmnormalize {rate(m['mmnormalize'])}", f"{m['file'] / m['mmnormalize']:.2f}x", ">= 1.0x",
            m["file"] >= m["mmnormalize"], f"`vigil worker --concurrency {WORKERS}`"),
        Row("Vigil (better door) against raw rsyslog", rate(best_vigil), f"raw {rate(m['raw'])}",
            f"{best_vigil / m['raw']:.2f}x", ">= 0.6x", best_vigil >= 0.6 * m["raw"]),
        Row("Vigil (better door) against the bulk ceiling", rate(best_vigil), f"ceiling {rate(m['ceiling'])}",
            f"{best_vigil / m['ceiling']:.2f}x", ">= 0.9x", best_vigil >= 0.9 * m["ceiling"]),
        Row("worker tree RSS against rsyslog (+mmnormalize), peak", f"{rss.get('workers', 0):.0f} MiB",
            f"{rss.get('mmnormalize', 0):.0f} MiB", "", "<= rsyslog",
            rss.get("workers", 0) <= rss.get("mmnormalize", 0), "summed over the worker tree during the file rounds"),
    ]  # fmt: skip


if __name__ == "__main__":
    main()
