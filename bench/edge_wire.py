"""`GET /verify` over the wire, side by side with oauth2-proxy, the tool a platform team would pick instead.

Both verify the same RS256 tokens of the same running issuer (oauth2-proxy discovers it through
`/.well-known/openid-configuration` and fetches its JWKS; our edge reads the same keys from the key store in
Redis, the default of `vigil edge serve`, with key changes pushed on the stream), both use every core
(our default `--workers`, Go's default GOMAXPROCS), and their runs are interleaved round by round (A B A B ...),
each figure the median of its rounds:

- same token (a cache hit for us; oauth2-proxy checks the RSA signature on every request) at 64 and 256
  connections, and our bare 200 endpoint on the same server;
- distinct tokens whose header and payload were never seen (our verified-token cache off, our 256-entry header
  cache cycled past by 1,000 distinct headers: every request a full parse and RSA check, as for the peer);
- the server choice: one uvicorn process and granian (when installed) beside the default;
- the tail at a constant rate (vegeta, open loop) at half of each server's own peak, and our bare endpoint at
  our rate;
- peak RSS of every process of each side under 256 connections, and server CPU time per request (steadier than
  req/s on a shared box, where the load generator competes for the same cores).

Our edge ships every decision to the namespace's siem stream as in production; a bench thread plays the siem
worker and empties it, so the queue never fills and the shared Redis never grows.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt
import redis
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from bench.load import LoadResult, ProcessTree, vegeta, wrk, wrk_script
from bench.report import Row
from bench.tools import OAUTH2_PROXY, VEGETA, ensure
from edgeauth import EdgeAuthSettings, KeyStore, SigningKey
from edgeauth.issuer import build_issuer, create_issuer_router
from siem import SiemSettings
from vigil.edgeserver import granian_argv

ROOT = Path(__file__).resolve().parents[1]
AUDIENCE = "vigil"
ORIGINAL = {"X-Original-URI": "/api/alerts", "X-Original-Method": "GET"}
SCOPE_RULES = [{"path_prefix": "/api/alerts", "scopes": ["alerts:read"]}]


@dataclass(frozen=True)
class Plan:
    rounds: int
    seconds: float
    miss_tokens: int
    rate_seconds: float


QUICK_PLAN = Plan(rounds=2, seconds=3, miss_tokens=300, rate_seconds=4)
FULL_PLAN = Plan(rounds=5, seconds=10, miss_tokens=1000, rate_seconds=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before answering")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s")


@dataclass
class Served:
    """One server under test: where to send requests, and its whole process tree."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    tree: ProcessTree = field(init=False)

    def __post_init__(self) -> None:
        self.tree = ProcessTree(self.proc.pid)


@contextmanager
def running(name: str, url: str, health: str, command: list[str], env: dict[str, str]) -> Iterator[Served]:
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_up(health, proc, name)
        yield Served(name, url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def issuer(namespace: str, conn: redis.Redis) -> Iterator[tuple[str, SigningKey]]:
    """A real issuer on loopback (token endpoint, JWKS, discovery) and its active signing key."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = EdgeAuthSettings(
        issuer=base,
        namespace=namespace,
        key_encryption_key=SecretStr(uuid.uuid4().hex),
    )
    key = KeyStore(conn, settings).active_signing_key()
    app = FastAPI()
    app.include_router(create_issuer_router(build_issuer(settings, conn)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the issuer did not start")
            time.sleep(0.05)
        yield base, key
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def siem_worker_stand_in(conn: redis.Redis, namespace: str) -> Iterator[None]:
    """Empty the namespace's siem stream twice a second, as the worker would after indexing."""
    names = SiemSettings(namespace=namespace)
    stop = threading.Event()

    def drain() -> None:
        while not stop.wait(0.5):
            pipe = conn.pipeline(transaction=True)
            pipe.delete(names.stream_key)
            pipe.set(names.depth_key, 0)
            pipe.execute()

    thread = threading.Thread(target=drain, name="bench-siem-drain", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def tokens(key: SigningKey, issuer_url: str, count: int, *, distinct_headers: bool) -> list[str]:
    """RFC 9068 tokens for distinct subjects; with `distinct_headers` each header segment is unique too."""
    now = int(time.time())
    made = []
    for i in range(count):
        claims = {
            "iss": issuer_url,
            "sub": f"user{i}",
            "aud": AUDIENCE,
            "client_id": "bench",
            "scope": "alerts:read alerts:triage",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "jti": uuid.uuid4().hex,
        }
        header: dict[str, object] = {"kid": key.kid, "typ": "at+jwt"}
        if distinct_headers:
            header["x-bench"] = i  # an unregistered member: ignored by both verifiers, but a header never seen
        made.append(jwt.encode(claims, key.private_key, algorithm="RS256", headers=header))
    return made


def edge_command(port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vigil.edgeserver",
        "--app",
        "bench.edgeauth:create_bench_app",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--backlog",
        "16384",
    ]


def granian_command(port: int, workers: int) -> list[str] | None:
    return granian_argv("bench.edgeauth:create_bench_app", "127.0.0.1", port, workers, 16384)


def peer_command(binary: Path, port: int, issuer_url: str) -> list[str]:
    return [
        str(binary),
        f"--http-address=127.0.0.1:{port}",
        "--provider=oidc",
        f"--oidc-issuer-url={issuer_url}",
        f"--client-id={AUDIENCE}",
        "--client-secret=unused-bearer-only",
        f"--cookie-secret={uuid.uuid4().hex[:32]}",
        "--cookie-secure=false",
        "--email-domain=*",
        "--skip-jwt-bearer-tokens=true",
        "--upstream=static://200",
        "--reverse-proxy=true",
        "--request-logging=false",
        "--auth-logging=false",
        "--standard-logging=false",
    ]


@dataclass(frozen=True)
class Run:
    """One closed-loop configuration; its results over the rounds are kept in order."""

    key: str
    server: str
    token_set: str
    connections: int


def _median(results: list[LoadResult], pick: Callable[[LoadResult], float]) -> float:
    return statistics.median(pick(r) for r in results)


@dataclass
class Figures:
    """Medians of every configuration that ran, by `Run.key`."""

    runs: dict[str, list[LoadResult]]

    def has(self, key: str) -> bool:
        return bool(self.runs.get(key))

    def rps(self, key: str) -> float:
        return _median(self.runs[key], lambda r: r.rps)

    def p50(self, key: str) -> float:
        return _median(self.runs[key], lambda r: r.p50_ms)

    def p99(self, key: str) -> float:
        return _median(self.runs[key], lambda r: r.p99_ms)

    def cpu(self, key: str) -> float:
        return _median(self.runs[key], lambda r: r.cpu_us_per_request)

    def rss(self, key: str) -> float:
        return max(r.peak_rss_mib for r in self.runs[key])

    def bad(self, key: str) -> int:
        return sum(r.non_2xx + r.errors for r in self.runs[key])


def measure_wire(namespace: str, redis_url: str, home: Path, quick: bool) -> list[Row]:
    plan = QUICK_PLAN if quick else FULL_PLAN
    workers = max(1, len(os.sched_getaffinity(0)))
    threads = max(1, min(4, workers // 2))
    conn = redis.Redis.from_url(redis_url)
    peer_binary, peer_note = ensure(OAUTH2_PROXY, home)
    vegeta_binary, vegeta_note = ensure(VEGETA, home)
    try:
        with ExitStack() as stack:
            issuer_url, key = stack.enter_context(issuer(namespace, conn))
            stack.enter_context(siem_worker_stand_in(conn, namespace))
            token_sets = {
                "hit": tokens(key, issuer_url, 1, distinct_headers=False),
                "miss": tokens(key, issuer_url, plan.miss_tokens, distinct_headers=True),
            }
            env = {
                **os.environ,
                "VIGIL_NAMESPACE": namespace,
                "VIGIL_EDGEAUTH__ISSUER": issuer_url,
                "VIGIL_EDGEAUTH__SCOPE_RULES": json.dumps(SCOPE_RULES),
                "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            }
            servers: dict[str, Served] = {}

            def start(name: str, command: list[str], port: int, path: str, extra: dict[str, str] | None = None) -> None:
                health = f"http://127.0.0.1:{port}/healthz"
                url = f"http://127.0.0.1:{port}{path}"
                servers[name] = stack.enter_context(running(name, url, health, command, {**env, **(extra or {})}))

            port = free_port()
            start("vigil", edge_command(port, workers), port, "/verify")
            servers["bare"] = Served("bare", f"http://127.0.0.1:{port}/bare", servers["vigil"].proc)
            port = free_port()
            start(
                "vigil-nocache", edge_command(port, workers), port, "/verify", {"VIGIL_EDGEAUTH__TOKEN_CACHE_SIZE": "0"}
            )
            if workers > 1:
                port = free_port()
                start("vigil-1", edge_command(port, 1), port, "/verify")
            port = free_port()
            granian = granian_command(port, workers)
            if granian is not None:
                start("granian", granian, port, "/verify")
            if peer_binary is not None:
                port = free_port()
                try:
                    start("peer", peer_command(peer_binary, port, issuer_url), port, "/oauth2/auth")
                except RuntimeError as exc:  # the peer's trouble is a row note, never a failed suite
                    peer_note = f"oauth2-proxy did not start ({exc})"
            time.sleep(1)
            idle = {name: s.tree.rss_mib() for name, s in servers.items()}
            runs = [
                Run("vigil-hit-64", "vigil", "hit", 64),
                Run("peer-hit-64", "peer", "hit", 64),
                Run("vigil-hit-256", "vigil", "hit", 256),
                Run("peer-hit-256", "peer", "hit", 256),
                Run("bare-256", "bare", "hit", 256),
                Run("vigil-miss-64", "vigil-nocache", "miss", 64),
                Run("peer-miss-64", "peer", "miss", 64),
                Run("vigil-miss-256", "vigil-nocache", "miss", 256),
                Run("peer-miss-256", "peer", "miss", 256),
                Run("vigil1-hit-256", "vigil-1", "hit", 256),
                Run("granian-hit-256", "granian", "hit", 256),
            ]
            runs = [r for r in runs if r.server in servers]
            results: dict[str, list[LoadResult]] = {r.key: [] for r in runs}
            with tempfile.TemporaryDirectory() as tmp:
                scripts = {name: wrk_script(Path(tmp), name, group, ORIGINAL) for name, group in token_sets.items()}
                for _ in range(plan.rounds):
                    for run in runs:
                        served = servers[run.server]
                        results[run.key].append(
                            wrk(served.url, scripts[run.token_set], run.connections, plan.seconds, served.tree, threads)
                        )
                figures = Figures(results)
                tail = _constant_rate(figures, servers, token_sets["hit"], vegeta_binary, plan, Path(tmp), threads)
                storm = wrk(
                    servers["vigil"].url, scripts["hit"], 10_000, plan.seconds, servers["vigil"].tree, max(2, threads)
                )
                recovery = _recovery(servers["vigil"].url, token_sets["hit"][0])
    finally:
        leftovers = list(conn.scan_iter(match=f"{namespace}*", count=1000))
        if leftovers:
            conn.delete(*leftovers)
    return _rows(figures, tail, storm, recovery, idle, workers, peer_note, vegeta_note, plan)


@dataclass
class Tail:
    ours: LoadResult
    bare: LoadResult
    peer: LoadResult | None
    generator: str


def _constant_rate(
    figures: Figures,
    servers: dict[str, Served],
    hit: list[str],
    vegeta_binary: Path | None,
    plan: Plan,
    folder: Path,
    threads: int,
) -> Tail:
    def at(served: Served, rate: float) -> LoadResult:
        if vegeta_binary is not None:
            return vegeta(vegeta_binary, served.url, hit, ORIGINAL, rate, plan.rate_seconds, served.tree)
        # wrk's `delay` paces each connection: closer to constant rate than a closed loop, not the same thing.
        script = wrk_script(folder, f"paced-{served.name}", hit, ORIGINAL, delay_ms=64 * 1000 / rate)
        return wrk(served.url, script, 64, plan.rate_seconds, served.tree, threads)

    ours_rate = figures.rps("vigil-hit-256") / 2
    ours = at(servers["vigil"], ours_rate)
    bare = at(servers["bare"], ours_rate)
    peer = at(servers["peer"], figures.rps("peer-hit-256") / 2) if figures.has("peer-hit-256") else None
    return Tail(ours, bare, peer, "vegeta, open loop" if vegeta_binary else "wrk paced by delay(), 64 conns")


def _recovery(url: str, token: str) -> float:
    """Seconds after a connection storm until the next request is answered 200 (30 s at most)."""
    started = time.monotonic()
    while time.monotonic() - started < 30:
        try:
            status = httpx.get(url, headers={"Authorization": f"Bearer {token}", **ORIGINAL}, timeout=10).status_code
            if status == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            time.sleep(0.5)
    return float("inf")


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else ""


def _rows(
    f: Figures,
    tail: Tail,
    storm: LoadResult,
    recovery: float,
    idle: dict[str, float],
    workers: int,
    peer_note: str,
    vegeta_note: str,
    plan: Plan,
) -> list[Row]:
    peer = f.has("peer-hit-256")
    not_run = f"peer not run: {peer_note}"
    setup = f"{plan.rounds} interleaved rounds of {plan.seconds:.0f} s, medians; {workers} worker(s)"
    rows: list[Row] = []
    for conns in (64, 256):
        ours, theirs = f"vigil-hit-{conns}", f"peer-hit-{conns}"
        rows.append(
            Row(
                f"GET /verify, same token, {conns} conns (req/s)",
                f"{f.rps(ours):,.0f}",
                f"oauth2-proxy {f.rps(theirs):,.0f}" if peer else not_run,
                _ratio(f.rps(ours), f.rps(theirs)) if peer else "",
                ">= 1.5x",
                f.rps(ours) >= 1.5 * f.rps(theirs) if peer else None,
                f"{setup}; non-2xx/errors {f.bad(ours)}",
            )
        )
    for conns in (64, 256):
        ours, theirs = f"vigil-miss-{conns}", f"peer-miss-{conns}"
        rows.append(
            Row(
                f"GET /verify, never-seen tokens, {conns} conns (req/s)",
                f"{f.rps(ours):,.0f}",
                f"oauth2-proxy {f.rps(theirs):,.0f}" if peer else not_run,
                _ratio(f.rps(ours), f.rps(theirs)) if peer else "",
                ">= 1.0x",
                f.rps(ours) >= f.rps(theirs) if peer else None,
                f"{plan.miss_tokens} tokens, distinct headers and payloads, our token cache off; "
                f"non-2xx/errors {f.bad(ours)}",
            )
        )
    rows.append(
        Row(
            "GET /verify, 256 conns p50 / p99",
            f"{f.p50('vigil-hit-256'):.1f} / {f.p99('vigil-hit-256'):.1f} ms",
            f"oauth2-proxy {f.p50('peer-hit-256'):.1f} / {f.p99('peer-hit-256'):.1f} ms" if peer else not_run,
            _ratio(f.p99("vigil-hit-256"), f.p99("peer-hit-256")) if peer else "",
            "p99 <= oauth2-proxy's",
            f.p99("vigil-hit-256") <= f.p99("peer-hit-256") if peer else None,
            "closed loop (wrk)",
        )
    )
    ratio = f.rps("vigil-hit-256") / f.rps("bare-256")
    rows.append(
        Row(
            "GET /verify vs a bare 200 on the same server, 256 conns",
            f"{f.rps('vigil-hit-256'):,.0f} req/s",
            f"bare 200 {f.rps('bare-256'):,.0f} req/s",
            f"{ratio:.2f}x",
            ">= 0.9x",
            ratio >= 0.9,
            f"server CPU per request {f.cpu('vigil-hit-256'):.0f} us vs {f.cpu('bare-256'):.0f} us",
        )
    )
    rows.append(
        Row(
            "GET /verify at half of peak, constant rate, p99",
            f"{tail.ours.p99_ms:.2f} ms at {tail.ours.rps:,.0f} req/s",
            f"bare 200 at that rate {tail.bare.p99_ms:.2f} ms"
            + (f"; oauth2-proxy at half its peak {tail.peer.p99_ms:.2f} ms" if tail.peer else ""),
            "",
            "<= 10 ms",
            tail.ours.p99_ms <= 10,
            f"{tail.generator} ({vegeta_note}); p50 {tail.ours.p50_ms:.2f} ms; non-2xx/errors "
            f"{tail.ours.non_2xx + tail.ours.errors}",
        )
    )
    ours_rss = f.rss("vigil-hit-256")
    rows.append(
        Row(
            "memory under 256 conns, every process (peak RSS)",
            f"{ours_rss:.0f} MiB ({workers} worker(s)); idle {idle['vigil']:.0f} MiB",
            f"oauth2-proxy {f.rss('peer-hit-256'):.0f} MiB" if peer else not_run,
            _ratio(ours_rss, f.rss("peer-hit-256")) if peer else "",
            "<= 2x",
            ours_rss <= 2 * f.rss("peer-hit-256") if peer else None,
            f"one process idle: {idle['vigil-1']:.0f} MiB" if "vigil-1" in idle else "",
        )
    )
    rows.append(
        Row(
            "server CPU per request, same token / never-seen (us)",
            f"{f.cpu('vigil-hit-256'):.0f} / {f.cpu('vigil-miss-256'):.0f}",
            f"oauth2-proxy {f.cpu('peer-hit-256'):.0f} / {f.cpu('peer-miss-256'):.0f}" if peer else not_run,
            _ratio(f.cpu("peer-hit-256"), f.cpu("vigil-hit-256")) if peer else "",
            "(reference)",
            None,
            "CPU time of every process of the server over the requests it answered: steadier than req/s on a "
            "shared box",
        )
    )
    choices = [("vigil1-hit-256", "uvicorn, 1 process"), ("granian-hit-256", f"granian ASGI, {workers} workers")]
    for key, label in choices:
        if f.has(key):
            rows.append(
                Row(
                    f"server choice: {label}, same token, 256 conns",
                    f"{f.rps(key):,.0f} req/s, p99 {f.p99(key):.1f} ms, {f.rss(key):.0f} MiB",
                    f"default (uvicorn, {workers} SO_REUSEPORT process(es)) {f.rps('vigil-hit-256'):,.0f} req/s",
                    _ratio(f.rps(key), f.rps("vigil-hit-256")),
                    "(reference)",
                    None,
                    f"CPU per request {f.cpu(key):.0f} us",
                )
            )
    rows.append(
        Row(
            "GET /verify, 10,000 keep-alive conns",
            f"{storm.rps:,.0f} req/s, p99 {storm.p99_ms:.0f} ms",
            "",
            "",
            "keeps serving",
            storm.rps > 0 and recovery < 30,
            f"peak RSS {storm.peak_rss_mib:.0f} MiB; errors {storm.errors}; non-2xx {storm.non_2xx}; "
            f"next request answered {recovery:.1f} s after the run",
        )
    )
    return rows
