"""edgeauth benchmarks: `python -m bench.edgeauth` (or `vigil bench edgeauth`); VIGIL_BENCH_QUICK=1 for a smoke run.

Every figure is measured against its baseline in the same run, on the same machine:
- in-process RS256 verify: never-seen tokens (header and payload new) against `cryptography`'s bare RSA verify of
  the same tokens (the floor of a miss), header-cached misses and cache hits against plain `jwt.decode`;
- `GET /verify` over the wire beside oauth2-proxy, interleaved, medians (`bench.edge_wire`: same token and
  never-seen tokens at 64 and 256 connections, the bare 200 of the same server, the constant-rate tail, memory
  and CPU per request of every process, the server choice, 10,000 connections);
- revocation and key withdrawal reaching a second verifier process.
The whole run stops by itself: about 15 minutes on 2 cores (5 rounds of 10 s per HTTP configuration), plus a
few minutes the first time to build oauth2-proxy and vegeta from the Go module proxy (without Go the peer's
rows say "peer not run" and the tail uses paced wrk); QUICK takes about 3 minutes. The table lands in
docs/benchmarks.md between the `bench:edgeauth` markers. Measurements are functions in `MEASUREMENTS` that
return rows.
"""

from __future__ import annotations

import binascii
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import httpx
import jwt
import redis
import uvicorn
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI
from pydantic import SecretStr

from bench.edge_wire import free_port, measure_wire
from bench.edge_wire import tokens as wire_tokens
from bench.report import Row, percentile, table, write_section
from edgeauth import (
    CollectingSink,
    DecisionBuffer,
    EdgeAuthSettings,
    JwksCache,
    KeyStore,
    RevocationReplica,
    SigningKey,
    Verifier,
    http_jwks_source,
    mint_access_token,
)
from edgeauth.edge import EdgeRuntime
from edgeauth.errors import RevokedToken, VerificationError
from edgeauth.issuer import build_issuer, create_issuer_router
from edgeauth.issuer.authority import JWKS_PATH, REVOCATION_PATH, TOKEN_PATH
from edgeauth.settings import IssuerSettings

QUICK = bool(os.environ.get("VIGIL_BENCH_QUICK"))
ROOT = Path(__file__).resolve().parents[1]
ISSUER = "https://issuer.bench.vigil"
SCOPES = ("alerts:read", "alerts:triage")


@dataclass
class Context:
    namespace: str = field(default_factory=lambda: f"benchedge{uuid.uuid4().hex[:8]}")
    facts: dict[str, float] = field(default_factory=dict)


def _rates(fns: dict[str, tuple[Callable[[str], object], list[str]]], rounds: int) -> dict[str, float]:
    """Best ops/s of each function over its tokens in `rounds` passes, the functions taking turns within a round.

    Interleaving exposes ours and the baselines to the same load from neighbours on a shared box; the best pass
    is the least disturbed one.
    """
    best = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, (fn, tokens) in fns.items():
            started = time.perf_counter()
            for token in tokens:
                fn(token)
            best[name] = max(best[name], len(tokens) / (time.perf_counter() - started))
    return best


def measure_in_process(ctx: Context) -> list[Row]:
    count, rounds = (300, 5) if QUICK else (1000, 15)
    key = SigningKey.generate("RS256")
    public = key.private_key.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    # Tokens of one key share one header segment (our header cache keeps its outcome); never-seen tokens differ
    # in header and payload, so nothing about them was parsed before: the honest cache miss.
    tokens = [
        mint_access_token(key, issuer=ISSUER, subject=f"s{i}", audience="vigil", client_id="c", scopes=SCOPES, ttl=600)
        for i in range(count)
    ]
    unseen = wire_tokens(key, ISSUER, count, distinct_headers=True)
    jwks = {"keys": [key.public_jwk()]}
    sink = CollectingSink(limit=1000)

    def verifier(cache: int) -> Verifier:
        settings = EdgeAuthSettings(issuer=ISSUER, token_cache_size=cache, decision_buffer_size=100_000)
        decisions = DecisionBuffer(sink, capacity=settings.decision_buffer_size)
        decisions.start()
        return Verifier(settings, JwksCache(settings, initial=jwks), decisions=decisions)

    miss_verifier = verifier(0)
    hit_verifier = verifier(count * 2)
    for token in tokens:
        hit_verifier.verify(token, SCOPES[:1])

    def pyjwt_decode(token: str) -> object:
        return jwt.decode(
            token,
            public,
            algorithms=["RS256"],
            audience="vigil",
            issuer=ISSUER,
            leeway=30,
            options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
        )

    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    table = bytes.maketrans(b"-_", b"+/")

    def bare(token: str) -> None:
        signing_input, _, signature = token.rpartition(".")
        public.verify(
            binascii.a2b_base64(signature.encode().translate(table) + b"=="), signing_input.encode(), pkcs1, sha256
        )

    rates = _rates(
        {
            "unseen": (lambda t: miss_verifier.verify(t, SCOPES[:1]), unseen),
            "crypto": (bare, unseen),
            "miss": (lambda t: miss_verifier.verify(t, SCOPES[:1]), tokens),
            "hit": (lambda t: hit_verifier.verify(t, SCOPES[:1]), tokens),
            "decode": (pyjwt_decode, tokens),
        },
        rounds,
    )
    unseen_rate, miss, hit, decode, crypto = (rates[k] for k in ("unseen", "miss", "hit", "decode", "crypto"))
    for v in (miss_verifier, hit_verifier):
        assert v.decisions is not None
        v.decisions.stop()
    ctx.facts.update(unseen=unseen_rate, miss=miss, hit=hit, decode=decode, crypto=crypto)
    return [
        Row(
            "verify RS256, never-seen token: header and payload (ops/s)",
            f"{unseen_rate:,.0f}",
            f"cryptography's bare RSA verify, same tokens {crypto:,.0f}",
            f"{unseen_rate / crypto:.2f}x",
            ">= 0.8x",
            unseen_rate / crypto >= 0.8,
            f"{count} tokens with distinct headers; the RSA check itself is the floor of a miss",
        ),
        Row(
            "verify RS256, header seen before, payload new (ops/s)",
            f"{miss:,.0f}",
            f"jwt.decode {decode:,.0f}",
            f"{miss / decode:.2f}x",
            ">= 1.5x",
            miss / decode >= 1.5,
            "tokens of one key share a header: our header cache skips its parse and checks",
        ),
        Row(
            "verify RS256, cache hit (ops/s)",
            f"{hit:,.0f}",
            f"jwt.decode {decode:,.0f}",
            f"{hit / decode:.1f}x",
            ">= 50x",
            hit / decode >= 50,
        ),
    ]


# -- HTTP ------------------------------------------------------------------------------------------------------


_BARE_START = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
_BARE_BODY = {"type": "http.response.body", "body": b""}


def create_bench_app() -> Any:
    """The real edge app (`vigil edge serve`) plus a bare 200 endpoint on the same server, as the baseline."""
    from vigil.edge import create_edge_app  # composition root: only the benchmark server process needs it

    edge = create_edge_app()

    # The same dispatch as /verify (a path comparison in front of a bare ASGI answer): the ratio is the cost of
    # verification alone.
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/bare":
            await send(_BARE_START)
            await send(_BARE_BODY)
        else:
            await edge(scope, receive, send)

    return app


def measure_http(ctx: Context) -> list[Row]:
    """`GET /verify` over the wire beside oauth2-proxy: see `bench.edge_wire`."""
    from vigil.settings import load_settings  # the benchmark runs inside the composed system

    settings = load_settings()
    return measure_wire(f"{ctx.namespace}w", settings.redis_url.get_secret_value(), settings.home, QUICK)


# -- revocation propagation (the issuer's part) ----------------------------------------------------------------


def _revocation_verifier(settings_json: str, redis_url: str, jwks_url: str, conn: Connection) -> None:
    """The second verifier process: JWKS over HTTP from the issuer, revocations from the Redis stream."""
    settings = EdgeAuthSettings.model_validate_json(settings_json)
    client = redis.Redis.from_url(redis_url)
    replica = RevocationReplica(client, settings)
    replica.load_snapshot()
    replica.start()
    keys = JwksCache(settings, http_jwks_source(jwks_url))
    keys.start()
    verifier = Verifier(settings, keys, revocations=replica)
    _refusal_loop(verifier.verify, RevokedToken, client, conn)
    replica.stop()
    keys.stop()


def _receive(conn: Connection, timeout: float = 30.0) -> Any:
    if not conn.poll(timeout):
        raise RuntimeError("the verifier process stopped answering")
    return conn.recv()


def _refusal_loop(
    verify: Callable[[str], object], refusal: type[Exception], client: redis.Redis, conn: Connection
) -> None:
    """The second process's side of a propagation measurement, until the parent sends None.

    For a token: verify it (now cached), answer "armed", then verify until `refusal` and answer when. For "raw":
    the baseline, a blocking XREAD woken by the parent's XADD.
    """
    conn.send("ready")
    while (message := conn.recv()) is not None:
        kind, payload = message
        if kind == "raw":
            last = cast(list[tuple[Any, Any]], client.xrevrange(payload, count=1))
            client_position = last[0][0] if last else "0-0"
            conn.send(("armed", 0.0))
            client.xread({payload: client_position}, block=5000, count=1)
            conn.send(("seen", time.monotonic()))
            continue
        verify(payload)
        conn.send(("armed", 0.0))
        deadline = time.monotonic() + 5.0
        while True:
            try:
                verify(payload)
            except refusal:
                conn.send(("refused", time.monotonic()))
                break
            if time.monotonic() > deadline:
                conn.send(("timeout", time.monotonic()))
                break
            # A serving verifier is not a pure spin loop: leave the replica thread the interpreter between checks.
            time.sleep(0.0002)


def _raw_hop(parent: Connection, client: redis.Redis, stream: str) -> float:
    """One baseline sample: XADD here until the other process's blocking XREAD returns, in seconds."""
    parent.send(("raw", stream))
    _receive(parent)
    sent = time.monotonic()
    client.xadd(stream, {"x": "1"})
    return float(_receive(parent)[1]) - sent


def measure_revocation(ctx: Context) -> list[Row]:
    """POST /revoke at a real issuer (uvicorn on loopback) until a verifier in another process refuses the token.

    The clock is CLOCK_MONOTONIC, shared by both processes. Baseline: the bare Redis XADD -> blocking XREAD hop
    between the same two processes, measured alternately in the same run.
    """
    from vigil.settings import load_settings  # the benchmark runs inside the composed system

    samples = 30 if QUICK else 200
    redis_url = load_settings().redis_url.get_secret_value()
    client = redis.Redis.from_url(redis_url)
    namespace = f"{ctx.namespace}rev"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = EdgeAuthSettings(
        issuer=base,
        namespace=namespace,
        key_encryption_key=SecretStr(uuid.uuid4().hex),
        oauth=IssuerSettings(rate_limit_per_ip=10**6),
    )
    issuer = build_issuer(settings, client)
    app = FastAPI()
    app.include_router(create_issuer_router(issuer))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    process = spawn.Process(
        target=_revocation_verifier,
        args=(settings.model_dump_json(exclude={"key_encryption_key"}), redis_url, base + JWKS_PATH, child),
    )
    propagation: list[float] = []
    revoke_http: list[float] = []
    raw_hop: list[float] = []
    after_response: list[float] = []
    timeouts = 0
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the issuer did not start")
            time.sleep(0.05)
        secret = issuer.registry.create("bench", actor="bench", role="ingest", audiences=["vigil"]).client_secret
        assert secret is not None
        with httpx.Client(base_url=base, auth=("bench", secret.get_secret_value())) as http:
            # A first grant makes the signing key, so the verifier's first JWKS fetch already holds it.
            http.post(TOKEN_PATH, data={"grant_type": "client_credentials"}).raise_for_status()
            process.start()
            if _receive(parent, 60) != "ready":
                raise RuntimeError("the verifier process did not start")
            stream = f"{namespace}:raw-hop"
            for _ in range(samples):
                token = http.post(TOKEN_PATH, data={"grant_type": "client_credentials"}).json()["access_token"]
                parent.send(("token", token))
                _receive(parent)
                started = time.monotonic()
                http.post(REVOCATION_PATH, data={"token": token}).raise_for_status()
                revoke_http.append(time.monotonic() - started)
                outcome, at = _receive(parent)
                timeouts += outcome == "timeout"
                propagation.append(at - started)
                after_response.append(max(0.0, at - started - revoke_http[-1]))
                raw_hop.append(_raw_hop(parent, client, stream))
        parent.send(None)
        process.join(timeout=15)
    finally:
        if process.is_alive():
            process.terminate()
        server.should_exit = True
        thread.join(timeout=10)
        leftovers = list(client.scan_iter(match=f"{namespace}*", count=1000))
        if leftovers:
            client.delete(*leftovers)
    p50, p99, worst = percentile(propagation, 0.5), percentile(propagation, 0.99), max(propagation)
    raw50, raw99 = percentile(raw_hop, 0.5), percentile(raw_hop, 0.99)
    return [
        Row(
            "revocation: POST /revoke -> refused at a 2nd verifier process, p50 / p99",
            f"{p50 * 1000:.1f} / {p99 * 1000:.1f} ms",
            f"bare Redis XADD->XREAD hop {raw50 * 1000:.2f} / {raw99 * 1000:.2f} ms",
            f"p99 {p99 / raw99:.0f}x the hop",
            "p99 < 1 s",
            p99 < 1.0 and timeouts == 0,
            f"{samples} revocations, max {worst * 1000:.1f} ms, {timeouts} not refused within 5 s; "
            f"of which the POST /revoke round trip (client auth is an scrypt check) p99 "
            f"{percentile(revoke_http, 0.99) * 1000:.1f} ms; after the 200, p99 "
            f"{percentile(after_response, 0.99) * 1000:.1f} ms",
        )
    ]


# -- key withdrawal propagation (pushed on the revocation stream) ----------------------------------------------


def _key_withdrawal_edge(settings_json: str, redis_url: str, conn: Connection) -> None:
    """The second edge process: a whole `EdgeRuntime` (JWKS from the key store, the replica that relays key news)."""
    settings = EdgeAuthSettings.model_validate_json(settings_json)
    client = redis.Redis.from_url(redis_url)
    runtime = EdgeRuntime(settings, client)
    runtime.start()
    _refusal_loop(runtime.verifier.verify, VerificationError, client, conn)
    runtime.stop()


def measure_key_withdrawal(ctx: Context) -> list[Row]:
    """`KeyStore.withdraw` of a published key until an edge in another process refuses a token it signed.

    The edge refreshes its JWKS on schedule only every 120 s here: what is measured is the push on the revocation
    stream. Each sample retires the signing key (a forced rotation, before the clock starts), arms the edge with a
    token of the retired key (verified and cached), then withdraws that key. Baseline: the bare Redis
    XADD -> blocking XREAD hop between the same processes, alternately in the same run.
    """
    from vigil.settings import load_settings  # the benchmark runs inside the composed system

    samples = 20 if QUICK else 100
    redis_url = load_settings().redis_url.get_secret_value()
    client = redis.Redis.from_url(redis_url)
    namespace = f"{ctx.namespace}keys"
    settings = EdgeAuthSettings(
        issuer=ISSUER, namespace=namespace, key_encryption_key=SecretStr(uuid.uuid4().hex), jwks_refresh_interval=120
    )
    store = KeyStore(client, settings)
    store.ensure()
    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    process = spawn.Process(
        target=_key_withdrawal_edge, args=(settings.model_dump_json(exclude={"key_encryption_key"}), redis_url, child)
    )
    pushed: list[float] = []
    raw_hop: list[float] = []
    timeouts = 0
    try:
        process.start()
        if _receive(parent, 60) != "ready":
            raise RuntimeError("the edge process did not start")
        stream = f"{namespace}:raw-hop"
        for _ in range(samples):
            key = store.active_signing_key()
            token = mint_access_token(
                key, issuer=ISSUER, subject="bench", audience="vigil", client_id="bench", scopes=SCOPES, ttl=600
            )
            store.rotate("bench", force=True)  # the token's key is now retired: still published, still trusted
            parent.send(("token", token))
            _receive(parent)
            started = time.monotonic()
            store.withdraw(key.kid, "bench")
            outcome, at = _receive(parent)
            timeouts += outcome == "timeout"
            pushed.append(at - started)
            raw_hop.append(_raw_hop(parent, client, stream))
        parent.send(None)
        process.join(timeout=15)
    finally:
        if process.is_alive():
            process.terminate()
        leftovers = list(client.scan_iter(match=f"{namespace}*", count=1000))
        if leftovers:
            client.delete(*leftovers)
    p50, p99 = percentile(pushed, 0.5), percentile(pushed, 0.99)
    raw50, raw99 = percentile(raw_hop, 0.5), percentile(raw_hop, 0.99)
    return [
        Row(
            "key withdrawn -> refused at a 2nd edge process, p50 / p99",
            f"{p50 * 1000:.1f} / {p99 * 1000:.1f} ms",
            f"bare Redis XADD->XREAD hop {raw50 * 1000:.2f} / {raw99 * 1000:.2f} ms",
            f"p99 {p99 / raw99:.0f}x the hop",
            "p99 < 100 ms",
            p99 < 0.1 and timeouts == 0,
            f"{samples} withdrawals, max {max(pushed) * 1000:.1f} ms, {timeouts} not refused within 5 s; "
            "without the push: the next scheduled JWKS refresh (60 s by default)",
        )
    ]


MEASUREMENTS: list[Callable[[Context], list[Row]]] = [
    measure_in_process,
    measure_http,
    measure_revocation,
    measure_key_withdrawal,
]


def render(rows: list[Row], elapsed: float) -> str:
    lines = [
        f"### edgeauth ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores shared with the other services"
        f", 1-min load average {os.getloadavg()[0]:.1f} at the end, {elapsed / 60:.0f} min"
        f"{', QUICK smoke run' if QUICK else ''})",
        "",
        "The peer is oauth2-proxy v7.15.6 (built from the Go module proxy), verifying the same tokens against the"
        " same issuer's JWKS (discovered through `/.well-known/openid-configuration`) on its `auth_request` endpoint"
        " `/oauth2/auth`; both sides use every core. On a box shared with other work, req/s moves with the"
        " neighbours: server CPU per request is the steadier comparison.",
        "",
        "Latency goals measured on a box whose load average exceeds its core count reflect CPU queueing as much as"
        " the verifier: compare with the bare endpoint's figures of the same run.",
        "",
        *table(rows),
    ]
    return "\n".join(lines)


def main() -> None:
    ctx = Context()
    rows: list[Row] = []
    started = time.monotonic()
    for measure in MEASUREMENTS:
        print(f"edgeauth bench: {measure.__name__} ...", file=sys.stderr, flush=True)
        rows += measure(ctx)
    table = render(rows, time.monotonic() - started)
    print(table)
    write_section("edgeauth", table)


if __name__ == "__main__":
    main()
