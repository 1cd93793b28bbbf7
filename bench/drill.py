"""The failure drill: `python -m bench.drill [--events N] [--faults K] [--rate R]` (or `vigil bench drill`;
VIGIL_BENCH_QUICK=1 for 50,000 events and 4 faults).

On loopback only, and bounded in time: a 3-node Elasticsearch cluster (HTTP 9230-9232, transport 9330-9332), Redis
with two replicas and three Sentinels (6420-6422, 26420-26422; two replicas so `WAIT 1` still finds one right after
a failover and ingest does not pause), two `vigil serve` replicas (18650, 18651) and two `vigil worker` processes,
all under one scratch namespace and home. A shipper sends N events over `POST /ingest/access?format=json` with a
real access token, each event carrying its own id, to both replicas in turn, and re-sends every batch that was not
acknowledged (a refused, failed or cut-off request), as a shipper does. Meanwhile K faults, in random order at
random times, SIGKILL one of: an Elasticsearch data node (restarted), the Redis primary (Sentinel promotes a
replica; the old primary is restarted and rejoins as a replica), an app replica (restarted) or a worker
(restarted); each fault's time to recover is measured from the kill to the restored state.
Then every indexed event is read back by its id: lost = acknowledged ids not indexed, duplicated = copies beyond
one. The table goes to docs/benchmarks.md (section `drill`); everything started is stopped and the cluster's data
erased, whatever happened. `tests/vigil/test_drill.py` runs the small drill (`Drill` with a smaller plan).
Ports move with VIGIL_DRILL_ES_PORT, VIGIL_DRILL_TRANSPORT_PORT, VIGIL_DRILL_REDIS_PORT, VIGIL_DRILL_SENTINEL_PORT and
VIGIL_DRILL_HTTP_PORT.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import redis
from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan
from pydantic import SecretStr

from bench.report import Row, table, write_section
from detections import AlertFilter, Detections
from edgeauth import KeyStore, mint_access_token
from evidence import EvidenceLocker, SigningKeyStore, load_public_pem, verify_bundle
from siem import IndexLayout
from vigil import indices, services
from vigil.clients import elasticsearch_client, redis_client
from vigil.detections_runtime import detections_settings
from vigil.services import ElasticsearchService, RedisService
from vigil.services.process import port_open, read_pid, wait_until
from vigil.settings import VigilSettings, load_settings

ROOT = Path(__file__).resolve().parents[1]
ES_PORT = int(os.environ.get("VIGIL_DRILL_ES_PORT") or 9230)
TRANSPORT_PORT = int(os.environ.get("VIGIL_DRILL_TRANSPORT_PORT") or 9330)
REDIS_PORT = int(os.environ.get("VIGIL_DRILL_REDIS_PORT") or 6420)
SENTINEL_PORT = int(os.environ.get("VIGIL_DRILL_SENTINEL_PORT") or 26420)
QUICK = bool(os.environ.get("VIGIL_BENCH_QUICK"))
HTTP_PORT = int(os.environ.get("VIGIL_DRILL_HTTP_PORT") or 18650)
KEK = "vigil-drill-kek"
FAULT_KINDS = ("elasticsearch node", "redis primary", "app replica", "worker")
# The scanner of the data: one address probing many paths with a scanner's user agent, every answer a 404; the
# rule `web_scanner_user_agent` must raise exactly one alert for it however often the detection cycle runs.
SCANNER_IP = "203.0.113.66"
SCANNER_AGENT = "Mozilla/5.00 (Nikto/2.5.0) (Evaluations: None)"
SCANNER_RULE = "ac205f40-caa4-4100-a77d-592b520fcf38"


def is_scanner(n: int) -> bool:
    return n % 50 == 7


def _say(message: str) -> None:
    print(f"drill: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Plan:
    """What one drill does: events to send, faults to inject (kinds cycle through FAULT_KINDS unless given)."""

    events: int
    faults: int
    batch: int = 500
    # Events per second the shipper offers: below what the workers index, so the faults hit a pipeline that is both
    # taking and indexing events (unpaced, Redis acknowledges 20,000 events in a second and the faults hit idle).
    rate: float = 1000.0
    senders: int = 2
    workers: int = 2
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int | None = None
    # Bounds on the whole run: a drill that cannot finish fails, it never hangs.
    ingest_limit: float = 1800.0
    drain_limit: float = 600.0


@dataclass
class Fault:
    kind: str
    target: str
    at: float  # seconds after ingest started
    recovered_in: float
    acknowledged_before: int  # events acknowledged when it struck: below the total means during ingest


@dataclass
class Outcome:
    """What the drill saw: the shipper's acknowledged ids and every indexed copy of them."""

    accepted: int
    indexed: int
    lost: int
    duplicated: int
    unexpected: int
    resent_batches: int
    dead_lettered: int
    faults: list[Fault]
    ingest_seconds: float
    drain_seconds: float
    scanner_events: int
    evidence_appended: int


@dataclass
class Checks:
    """What the drill's data should have produced, checked after the faults."""

    scanner_alerts: int  # alerts of the scanner rule after two detection cycles: 1
    scanner_alert_count: int  # events that one alert counts: every scanner event acknowledged
    chain_entries: int
    chain_problems: list[str]
    bundle_items: int
    bundle_problems: list[str]


def record(run: str, n: int) -> str:
    """Event `n` of the drill as a lograge JSON line; its own id makes a re-sent copy the same document."""
    scanner = is_scanner(n)
    return json.dumps(
        {
            "id": f"{run}-{n}",
            "method": "GET",
            "path": f"/.env.{n}" if scanner else f"/drill/items/{n % 997}",
            "status": 404 if scanner else 200,
            "remote_ip": SCANNER_IP if scanner else f"10.20.{n >> 8 & 255}.{n & 255}",
            "duration": 1.5,
            "user_agent": SCANNER_AGENT if scanner else "drill-shipper/1.0",
            "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        separators=(",", ":"),
    )


class Drill:
    """The topology of one drill, started by `up()` and always torn down by `down()` (use it as a context)."""

    def __init__(self, base: VigilSettings, home: Path, plan: Plan) -> None:
        self.plan = plan
        self.home = home
        self.namespace = f"drill{uuid.uuid4().hex[:8]}"
        self.random = random.Random(plan.seed)
        # The cluster lives under the configured home, beside the unpacked distribution it shares (erased after);
        # Redis and the processes' files under the drill's own home.
        scoped = base.in_namespace(self.namespace).model_copy(
            update={
                "es_url": f"http://127.0.0.1:{ES_PORT}",
                "es_transport_port": TRANSPORT_PORT,
                "es_node_heap": "512m",
                "es_start_timeout": 300.0,
                "redis_url": SecretStr(f"redis://127.0.0.1:{REDIS_PORT}/0"),
                "redis_sentinel_port": SENTINEL_PORT,
            }
        )
        self.cluster: ElasticsearchService = services.cluster(scoped, 3)
        self.redis: RedisService = services.redis_failover(
            scoped.model_copy(update={"home": home}), replicas=2, sentinels=3
        )
        self.settings = self.redis.settings.model_copy(update={"es_nodes": 3})
        self.settings.edgeauth = self.settings.edgeauth.model_copy(update={"key_encryption_key": SecretStr(KEK)})
        self.logs = home / "logs"
        self.evidence_appended = 0
        self.evidence_from = datetime.now(UTC)
        self.apps: dict[int, subprocess.Popen[bytes]] = {}
        self.workers: dict[int, subprocess.Popen[bytes]] = {}
        self._vigil = str(Path(sys.executable).with_name("vigil"))
        self.env = {
            **os.environ,
            "VIGIL_HOME": str(home),
            "VIGIL_NAMESPACE": self.namespace,
            "VIGIL_ES_URL": self.settings.es_url,
            "VIGIL_REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
            "VIGIL_REDIS_SENTINEL_HOSTS": ",".join(f"{h}:{p}" for h, p in self.settings.sentinels),
            "VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY": KEK,
            "VIGIL_SIEM__PUMP_SECONDS": "1",
        }

    # -- processes ------------------------------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(
            [self._vigil, *args], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_app(self, port: int) -> None:
        self.apps[port] = proc = self._spawn(f"app-{port}", ["serve", "--port", str(port)])

        def answers() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"vigil serve on {port} exited with {proc.returncode}; see {self.logs}")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        if not wait_until(answers, 120, 0.2):
            raise RuntimeError(f"vigil serve on {port} did not answer in 120 s; see {self.logs}")

    def start_worker(self, slot: int) -> None:
        args = ["worker", "--concurrency", "1", "--loglevel", "WARNING", "--no-detections"]
        self.workers[slot] = self._spawn(f"worker-{slot}", args)

    @staticmethod
    def _crash(proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process group (a worker's pool children die with it, as on a host crash)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in sorted(self.apps)]

    def up(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        _say("starting Redis (primary, 2 replicas, 3 Sentinels) and a 3-node cluster ...")
        self.redis.up()
        self.cluster.up()
        indices.apply(elasticsearch_client(self.settings), self.settings)
        for port in (HTTP_PORT, HTTP_PORT + 1):
            self.start_app(port)
        for slot in range(self.plan.workers):
            self.start_worker(slot)

    def down(self) -> None:
        for proc in [*self.apps.values(), *self.workers.values()]:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except ProcessLookupError:
                continue
            except subprocess.TimeoutExpired:
                self._crash(proc)
        try:
            self.cluster.down()
        finally:
            self.redis.down()
            self.cluster.erase()

    def __enter__(self) -> Drill:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def token(self, who: str, scope: str) -> str:
        """A real access token signed with the shared key store's active key, as the issuer would mint it."""
        edge = self.settings.edgeauth
        key = KeyStore(redis_client(self.settings), edge).active_signing_key()
        return mint_access_token(
            key,
            issuer=edge.issuer,
            subject=who,
            audience=edge.audiences[0],
            client_id=who,
            scopes=[scope],
            ttl=4 * 3600,
        )

    # -- faults ---------------------------------------------------------------------------------------------------
    def _fault_es(self) -> tuple[str, Callable[[], bool]]:
        # Never the URL's node: the processes reach the cluster through it (a load balancer's job in production).
        node = self.random.choice(self.cluster.nodes[1:])
        self.cluster.kill_node(node)
        es = Elasticsearch(self.cluster.nodes[0].url, request_timeout=10)
        # Restarted once the cluster has noticed the loss (and promoted the copies of its primaries).
        if not wait_until(lambda: int(es.cluster.health()["number_of_nodes"]) == 2, 120, 0.5):
            raise RuntimeError(f"the cluster did not notice {node.name} was killed within 120 s")
        wait_until(lambda: not port_open("127.0.0.1", node.http_port), 30, 0.2)
        self.cluster.start_node(node, wait=False)

        def rejoined() -> bool:
            health = es.cluster.health()
            return int(health["number_of_nodes"]) == 3 and health["status"] == "green"

        return node.name, rejoined

    def _fault_redis(self) -> tuple[str, Callable[[], bool]]:
        before = self.redis.primary()
        victim = next(m for m in self.redis.members if before and m.port == before[1])
        self.redis.kill(victim)

        def promoted_and_back() -> bool:
            now = self.redis.primary()
            if now is None or now == before:
                return False
            if read_pid(victim.pidfile) is None and not port_open("127.0.0.1", victim.port):
                self.redis.start(victim)  # the old primary rejoins as a replica of the promoted one
            # Recovered once it follows the promoted primary (it starts as a primary of its own until Sentinel
            # turns it; until then it has no replica, so WAIT refuses what is written to it).
            try:
                client = redis.Redis(port=victim.port, socket_timeout=2.0, decode_responses=True)
                replication = cast(dict[str, Any], client.info("replication"))
            except (redis.RedisError, OSError):
                return False
            return (
                replication.get("role") == "slave"
                and replication.get("master_port") == now[1]
                and replication.get("master_link_status") == "up"
            )

        return f"{victim.name}:{victim.port}", promoted_and_back

    def _fault_app(self) -> tuple[str, Callable[[], bool]]:
        port = self.random.choice(sorted(self.apps))
        self._crash(self.apps[port])
        self.start_app(port)
        return f"app:{port}", lambda: True

    def _fault_worker(self) -> tuple[str, Callable[[], bool]]:
        slot = self.random.choice(sorted(self.workers))
        self._crash(self.workers[slot])
        self.start_worker(slot)
        return f"worker-{slot}", lambda: self.workers[slot].poll() is None

    def inject(self, kind: str) -> tuple[str, float]:
        """One fault of `kind`: kill -9, then restore; (target, seconds from the kill until restored)."""
        actions = {
            "elasticsearch node": self._fault_es,
            "redis primary": self._fault_redis,
            "app replica": self._fault_app,
            "worker": self._fault_worker,
        }
        started = time.monotonic()
        target, restored = actions[kind]()
        if not wait_until(restored, 300, 0.5):
            raise RuntimeError(f"{kind} {target} did not recover within 300 s")
        return target, time.monotonic() - started

    # -- the run --------------------------------------------------------------------------------------------------
    def run(self) -> Outcome:
        plan = self.plan
        run_id = self.namespace
        token = self.token("drill-shipper", "ingest:write")
        batches = [range(start, min(start + plan.batch, plan.events)) for start in range(0, plan.events, plan.batch)]
        work: collections.deque[range] = collections.deque(batches)
        lock = threading.Lock()
        acknowledged: list[int] = []
        resent = [0]
        done = threading.Event()
        # The last batch waits until the last fault is about to strike: every fault meets a pipeline still taking
        # events, even when recoveries run longer than the paced ingest (a loaded machine).
        all_struck = threading.Event()
        last_batch = batches[-1].start
        errors: list[BaseException] = []
        stop_at = time.monotonic() + plan.ingest_limit

        def ship(sender: int) -> None:
            client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30)
            turn = sender
            try:
                while True:
                    with lock:
                        if not work:
                            return
                        numbers = work.popleft()
                    pause = started + numbers.start / plan.rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    if numbers.start == last_batch and not all_struck.wait(plan.ingest_limit):
                        raise RuntimeError("the faults were not all injected within the ingest limit")
                    body = "\n".join(record(run_id, n) for n in numbers).encode()
                    while True:
                        if time.monotonic() > stop_at:
                            raise RuntimeError(f"ingest did not finish within {plan.ingest_limit:.0f} s")
                        url = self.urls[turn % 2]
                        turn += 1
                        try:
                            answer = client.post(f"{url}/ingest/access", params={"format": "json"}, content=body)
                        except httpx.TransportError:
                            answer = None
                        if answer is not None and answer.status_code == 202:
                            break
                        if answer is not None and answer.status_code < 500 and answer.status_code != 429:
                            raise RuntimeError(f"ingest refused a drill batch: {answer.status_code} {answer.text}")
                        with lock:
                            resent[0] += 1
                        time.sleep(0.2)
                    with lock:
                        acknowledged.extend(numbers)
            except BaseException as exc:
                errors.append(exc)
            finally:
                client.close()

        kinds = [plan.kinds[i % len(plan.kinds)] for i in range(plan.faults)]
        self.random.shuffle(kinds)
        faults: list[Fault] = []

        def break_things() -> None:
            # A random moment in each of K equal slices of the paced ingest (spread, yet random); each fault is
            # recovered before the next is injected.
            span = 0.9 * plan.events / plan.rate
            slices = [(i * span / len(kinds), (i + 1) * span / len(kinds)) for i in range(len(kinds))]
            moments = [self.random.uniform(max(low, 0.05 * span), high) for low, high in slices]
            try:
                for kind, moment in zip(kinds, moments, strict=True):
                    while time.monotonic() - started < moment and not done.is_set():
                        time.sleep(0.1)
                    at = time.monotonic() - started
                    with lock:
                        before = len(acknowledged)
                    _say(f"fault at {at:.1f} s: kill -9 {kind} ...")
                    if len(faults) == len(kinds) - 1:
                        all_struck.set()
                    target, took = self.inject(kind)
                    _say(f"  {target} recovered in {took:.1f} s")
                    faults.append(Fault(kind, target, at, took, before))
                    self.collect_evidence(f"after kill -9 {kind} {target}")
            except BaseException as exc:
                errors.append(exc)
            finally:
                all_struck.set()

        self.collect_evidence("before the faults")
        _say(f"shipping {plan.events:,} events at {plan.rate:,.0f}/s with {plan.faults} faults ...")
        started = time.monotonic()
        senders = [threading.Thread(target=ship, args=(i,), daemon=True) for i in range(plan.senders)]
        breaker = threading.Thread(target=break_things, daemon=True)
        for thread in [*senders, breaker]:
            thread.start()
        for thread in senders:
            thread.join()
        ingest_seconds = time.monotonic() - started
        # Every fault is injected, even when the data went in first: the drain then runs through them.
        breaker.join()
        done.set()
        if errors:
            raise RuntimeError(f"the drill failed: {errors[0]}") from errors[0]
        _say(f"{len(acknowledged):,} events acknowledged in {ingest_seconds:.1f} s; draining ...")
        drain_started = time.monotonic()
        layout = IndexLayout(self.settings.siem)
        es = elasticsearch_client(self.settings, request_timeout=60)
        expected = len(acknowledged)

        def indexed_count() -> int:
            es.indices.refresh(index=layout.logs_pattern, ignore_unavailable=True, allow_no_indices=True)
            found = es.count(index=layout.dataset_pattern("access"), ignore_unavailable=True, allow_no_indices=True)
            return int(found["count"])

        wait_until(lambda: indexed_count() >= expected, plan.drain_limit, 1.0)
        drain_seconds = time.monotonic() - drain_started
        copies = collections.Counter(self._indexed_ids(es, layout))
        wanted = {f"{run_id}-{n}" for n in acknowledged}
        dead = es.count(index=layout.deadletter_pattern, ignore_unavailable=True, allow_no_indices=True)
        return Outcome(
            accepted=expected,
            indexed=sum(1 for i in wanted if copies[i]),
            lost=sum(1 for i in wanted if not copies[i]),
            duplicated=sum(c - 1 for c in copies.values() if c > 1),
            unexpected=sum(c for i, c in copies.items() if i not in wanted),
            resent_batches=resent[0],
            dead_lettered=int(dead["count"]),
            faults=faults,
            ingest_seconds=ingest_seconds,
            drain_seconds=drain_seconds,
            scanner_events=sum(1 for n in acknowledged if is_scanner(n)),
            evidence_appended=self.evidence_appended,
        )

    # -- what the data should produce ------------------------------------------------------------------------------
    def collect_evidence(self, what: str) -> None:
        """Append one evidence item, as a collector running through the faults would (the chain's lock and head
        anchor live in Redis, so appends straddle the failovers)."""
        locker = EvidenceLocker(
            elasticsearch_client(self.settings), redis_client(self.settings), self.settings.evidence
        )
        locker.append(
            collector="vigil-drill",
            collector_version="1",
            source_system="drill",
            query=what,
            effective_at=datetime.now(UTC),
            content=f"drill {self.namespace}: {what}\n".encode(),
            control_ids=["CC7.2"],
        )
        self.evidence_appended += 1

    def check(self) -> Checks:
        """Two detection cycles over the data, the evidence chain, and a bundle built through one replica, downloaded
        through the other and verified offline with the published public key alone."""
        es, rd = elasticsearch_client(self.settings, request_timeout=120), redis_client(self.settings)
        detections = Detections(
            detections_settings(self.settings).model_copy(update={"ingest_delay_seconds": 0}), es, rd
        )
        for _ in range(2):  # a second cycle over the same data must not raise the alert again
            report = detections.run_cycle(datetime.now(UTC) + timedelta(milliseconds=1), force=True)
            if report.errors:
                raise RuntimeError(f"the detection cycle failed: {report.errors}")
        alerts = detections.alerts(AlertFilter(rule_id=SCANNER_RULE, limit=50)).alerts
        chain = EvidenceLocker(es, rd, self.settings.evidence).verify()
        bearer = {"Authorization": f"Bearer {self.token('drill-auditor', 'evidence:read')}"}
        period = {"from": (self.evidence_from - timedelta(minutes=1)).isoformat(), "to": datetime.now(UTC).isoformat()}
        first, second = self.urls
        built = httpx.post(f"{first}/evidence/bundles", json=period, headers=bearer, timeout=300)
        if built.status_code != 201:
            raise RuntimeError(f"building a bundle failed: {built.status_code} {built.text[:300]}")
        name = built.json()["name"]
        download = httpx.get(f"{second}/evidence/bundles/{name}", headers=bearer, timeout=300)
        if download.status_code != 200:
            raise RuntimeError(f"downloading the bundle failed: {download.status_code} {download.text[:300]}")
        bundle = self.home / name
        bundle.write_bytes(download.content)
        public = {k.kid: k.public_key_pem for k in SigningKeyStore(rd, self.settings.evidence.namespace).public_keys()}
        kid = built.json()["kid"]
        verified = verify_bundle(bundle, pubkey=load_public_pem(public[kid].encode()))
        return Checks(
            scanner_alerts=len(alerts),
            scanner_alert_count=sum(a.count for a in alerts),
            chain_entries=chain.entries,
            chain_problems=chain.problems,
            bundle_items=verified.items,
            bundle_problems=verified.problems,
        )

    @staticmethod
    def _indexed_ids(es: Elasticsearch, layout: IndexLayout) -> Iterator[str]:
        """Every indexed copy's event id, read back one document at a time (a count would hide a lost-and-duplicated
        pair)."""
        for hit in scan(es, index=layout.dataset_pattern("access"), query={"query": {"match_all": {}}},
                        _source=["event.id"], size=5000):  # fmt: skip
            yield str(cast(dict[str, Any], hit["_source"])["event"]["id"])


def report(plan: Plan, outcome: Outcome, checks: Checks) -> str:
    rows = [
        Row(
            "events lost / duplicated",
            f"{outcome.lost} / {outcome.duplicated}",
            f"{outcome.accepted:,} accepted",
            "-",
            "0 / 0",
            outcome.lost == 0 and outcome.duplicated == 0 and outcome.unexpected == 0,
            f"{outcome.indexed:,} indexed exactly once; {outcome.resent_batches} batch sends retried; "
            f"{outcome.dead_lettered} dead-lettered; ingest {outcome.ingest_seconds:.0f} s, drain after it "
            f"{outcome.drain_seconds:.0f} s",
        )
    ]
    rows += [
        Row(
            "scanner alerts after two detection cycles",
            f"{checks.scanner_alerts} alert, {checks.scanner_alert_count:,} events",
            f"{outcome.scanner_events:,} scanner events accepted",
            "-",
            "1 alert counting every one",
            checks.scanner_alerts == 1 and checks.scanner_alert_count == outcome.scanner_events,
            f"rule web_scanner_user_agent, one source address ({SCANNER_IP})",
        ),
        Row(
            "evidence chain / bundle verified offline",
            f"{checks.chain_entries} entries, {len(checks.chain_problems)} problems / "
            f"{checks.bundle_items} items, {len(checks.bundle_problems)} problems",
            f"{outcome.evidence_appended} items appended through the faults",
            "-",
            "0 problems, every item",
            not checks.chain_problems
            and not checks.bundle_problems
            and checks.chain_entries == checks.bundle_items == outcome.evidence_appended,
            "bundle built through one replica, downloaded through the other, checked with the public key alone",
        ),
    ]
    for fault in outcome.faults:
        rows.append(
            Row(
                f"kill -9 {fault.kind} ({fault.target}) at {fault.at:.0f} s",
                f"recovered in {fault.recovered_in:.1f} s",
                "-",
                "-",
                "(reported)",
                None,
                f"{fault.acknowledged_before:,} events acknowledged before it",
            )
        )
    return "\n".join(
        [
            "## Failure drill: 3 Elasticsearch nodes, Redis with Sentinel, 2 app replicas, workers, kill -9",
            "",
            f"`python -m bench.drill --events {plan.events} --faults {plan.faults}` on {os.cpu_count()} cores "
            f"(shared with other work: recovery times are noisy); {plan.workers} workers, {plan.senders} senders of "
            f"{plan.batch}-event batches over `POST /ingest/access` offered at {plan.rate:,.0f} events/s, re-sending "
            "what was not acknowledged; recovery is from the kill until restored (a node: cluster green again; "
            "the Redis primary: a replica promoted and the old primary back; an app: answering; a worker: running).",
            "",
            *table(rows),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.drill")
    parser.add_argument("--events", type=int, default=50_000 if QUICK else 1_000_000)
    parser.add_argument("--faults", type=int, default=4 if QUICK else 10)
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second the shipper offers")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if args.events < 1 or args.faults < 0 or args.rate <= 0:
        raise SystemExit("drill: --events must be at least 1, --faults at least 0 and --rate above 0")
    plan = Plan(
        events=args.events,
        faults=args.faults,
        rate=args.rate,
        seed=args.seed,
        ingest_limit=args.events / args.rate * 2 + 600,
        drain_limit=1200.0,
    )
    with tempfile.TemporaryDirectory(prefix="vigil-drill-") as tmp, Drill(load_settings(), Path(tmp), plan) as drill:
        outcome = drill.run()
        checks = drill.check()
    body = report(plan, outcome, checks)
    print(body)
    write_section("drill", body)
    if outcome.lost or outcome.duplicated or outcome.unexpected or checks.chain_problems or checks.bundle_problems:
        raise SystemExit(
            f"drill: {outcome.lost} lost, {outcome.duplicated} duplicated, {outcome.unexpected} unexpected"
        )


if __name__ == "__main__":
    main()
