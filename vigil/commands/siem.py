"""siem's commands: `vigil worker`, `vigil pipeline status`, `vigil dlq list|replay`, `vigil ingest file|syslog`."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
from enum import StrEnum
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Annotated

import typer

from detections import CYCLE_QUEUE
from siem import DeadLetterStore, Pipeline, RecordsDeadLetteredError
from siem.inputs.syslog import SyslogReceiver, server_tls
from siem.inputs.tail import FileTail
from siem.metrics import status
from vigil.clients import elasticsearch_client, redis_client
from vigil.indices import ensure_applied
from vigil.settings import VigilSettings, load_settings
from vigil.worker import DEFAULT_QUEUE, create_celery

pipeline_app = typer.Typer(help="The ingestion pipeline.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: records that could not be parsed or indexed.", no_args_is_help=True)
ingest_app = typer.Typer(help="Send logs into the pipeline.", no_args_is_help=True)


class FileFormat(StrEnum):
    nginx = "nginx"
    json = "json"
    rails = "rails"
    python = "python"
    exception = "exception"


def build_pipeline(settings: VigilSettings) -> Pipeline:
    es = elasticsearch_client(settings)
    ensure_applied(es, settings)
    pipeline = Pipeline(es, redis_client(settings), settings.siem)
    pipeline.setup()
    return pipeline


def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Worker processes, each a stream consumer [default: cores + 1].")
    ] = None,
    beat: Annotated[bool, typer.Option(help="Also run the beat scheduler (pumps, retention, others' tasks).")] = True,
    detections: Annotated[
        bool, typer.Option(help="Also run detection cycles, in a worker node of their own beside the pool.")
    ] = True,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run the Celery worker (and beat) that drains the stream into Elasticsearch, and the detection cycles."""
    settings = load_settings()
    build_pipeline(settings)
    # Per process: embedded beats of workers on one host must not share one shelve file.
    schedule = settings.home / f"celerybeat-{settings.namespace}-{os.getpid()}"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    # One process more than cores: while one parses a batch, the others keep bulk requests in flight.
    processes = concurrency or (os.cpu_count() or 1) + 1
    argv = [
        "worker",
        f"--concurrency={processes}",
        f"--loglevel={loglevel}",
        f"--hostname=vigil-{os.getpid()}@%h",
        f"--queues={DEFAULT_QUEUE}",
    ]
    if beat:
        argv += ["--beat", f"--schedule={schedule}"]
    companion = _start_detections_node(settings, loglevel) if detections else None
    try:
        create_celery(settings).worker_main(argv)
    finally:
        if companion is not None:
            companion.terminate()
            companion.join(timeout=30)


def _detections_node(settings: VigilSettings, loglevel: str) -> None:
    argv = [
        "worker",
        "--pool=solo",  # one cycle at a time in the node's own process: nothing else ever runs there
        f"--loglevel={loglevel}",
        f"--hostname=vigil-detections-{os.getpid()}@%h",
        f"--queues={CYCLE_QUEUE}",
    ]
    create_celery(settings).worker_main(argv)


def _start_detections_node(settings: VigilSettings, loglevel: str) -> BaseProcess:
    """The worker node of the detections queue, in a child process: however busy the ingest pool is (even
    `--concurrency 1` behind a backlog), a cycle due every `tick_seconds` finds a free consumer."""
    node = multiprocessing.get_context("fork").Process(
        target=_detections_node, args=(settings, loglevel), name="vigil-detections", daemon=True
    )
    node.start()
    return node


def beat(loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO") -> None:
    """Run the beat scheduler alone; a second one waits as a standby (see `vigil.beat`)."""
    settings = load_settings()
    schedule = settings.home / f"celerybeat-{settings.namespace}-{os.getpid()}"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    create_celery(settings).start(["beat", f"--schedule={schedule}", f"--loglevel={loglevel}"])


@pipeline_app.command("status")
def pipeline_status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Counters and queue state shared by every ingest process and worker."""
    current = status(build_pipeline(load_settings()))
    if as_json:
        typer.echo(current.model_dump_json(indent=2))
        return
    for name, value in current.model_dump().items():
        typer.echo(f"{name:<24} {value}")


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    include_replayed: Annotated[bool, typer.Option("--all", help="Include replayed dead letters.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """The newest dead letters with their error."""
    pipeline = build_pipeline(load_settings())
    for letter in DeadLetterStore(pipeline.es, pipeline.layout).list(limit=limit, include_replayed=include_replayed):
        if as_json:
            typer.echo(letter.model_dump_json())
        else:
            raw = json.dumps(letter.original[:80])
            typer.echo(f"{letter.id}  {letter.timestamp:%Y-%m-%dT%H:%M:%SZ}  {letter.format:<9} {letter.error_type}: "
                       f"{letter.error_message[:100]}  {raw}")  # fmt: skip


@dlq_app.command("replay")
def dlq_replay(
    ids: Annotated[list[str] | None, typer.Argument(help="Dead-letter ids (default: every unreplayed one).")] = None,
) -> None:
    """Queue dead letters again (after a parser fix); their ids keep a replay from duplicating."""
    pipeline = build_pipeline(load_settings())
    count = DeadLetterStore(pipeline.es, pipeline.layout).replay(pipeline.push, ids or None)
    typer.echo(f"replayed {count} dead letters")


@ingest_app.command("file")
def ingest_file(
    path: Annotated[Path, typer.Argument(help="Log file to read.")],
    record_format: Annotated[FileFormat, typer.Option("--format", help="Record format of the file.")],
    follow: Annotated[bool, typer.Option(help="Keep reading as the file grows (and rotates).")] = False,
    allow_dead_letter: Annotated[
        bool, typer.Option(help="Exit 0 even when records will go to the dead letter (they are still reported).")
    ] = False,
) -> None:
    """Queue a file's records from its saved offset; `--follow` keeps tailing it.

    Reports how many records will end in the dead letter and why; exits non-zero when any will (unless
    `--allow-dead-letter`), so a log of the wrong shape never looks like a success.
    """
    settings = load_settings()
    state_dir = settings.siem.tail_state_dir
    report = FileTail(build_pipeline(settings), path, record_format.value, state_dir).run(follow=follow)
    typer.echo(f"queued {report.records} records ({report.rotations} rotations, {report.truncations} truncations)")
    dead = report.dead_letter
    if dead.dead_letter:
        typer.echo(f"{dead.dead_letter} of them will go to the dead letter:\n{dead.summary()}", err=True)
        if not allow_dead_letter:
            raise RecordsDeadLetteredError(
                f"{dead.dead_letter} of {report.records} records do not parse as {record_format.value}; "
                "fix the format or pass --allow-dead-letter (see `vigil dlq list`)"
            )


@ingest_app.command("syslog")
def ingest_syslog(
    tcp: Annotated[
        int | None, typer.Option(min=1, max=65535, help="TCP port (RFC 6587 framing; TLS with --tls).")
    ] = None,
    udp: Annotated[
        int | None, typer.Option(min=1, max=65535, help="UDP port (RFC 5426, one message a datagram).")
    ] = None,
    tls: Annotated[
        tuple[Path, Path] | None, typer.Option(help="CERT KEY: serve the TCP port over TLS (RFC 5425).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
) -> None:
    """Receive syslog (RFC 5424 and 3164) and queue it; delivery is acknowledged at the TCP level only."""
    if tcp is None and udp is None:
        raise typer.BadParameter("give --tcp PORT, --udp PORT or both")
    if tls is not None and tls[0] is not None and tcp is None:
        raise typer.BadParameter("--tls needs --tcp")
    context = server_tls(str(tls[0]), str(tls[1])) if tls is not None and tls[0] is not None else None
    receiver = SyslogReceiver(build_pipeline(load_settings()))

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        ready = f"listening: tcp {tcp or '-'}{' (tls)' if context else ''}, udp {udp or '-'}"
        counters = await receiver.run(
            host=host, tcp_port=tcp, udp_port=udp, tls=context, stop=stop, ready=lambda: typer.echo(ready)
        )
        typer.echo(
            f"received {counters.received}, queued {counters.queued}, dropped {counters.dropped} {counters.reasons}"
        )

    asyncio.run(serve())
