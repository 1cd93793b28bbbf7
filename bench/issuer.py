"""The issuer against Keycloak: `python -m bench.issuer` (or `vigil bench issuer`); VIGIL_BENCH_QUICK=1 for a smoke run.

Both run on this machine in the same run, taking turns (A B A B, medians of the rounds):
- `client_credentials` tokens/s and p99 at 16 and 64 connections, closed loop (wrk), each server answering with a
  signed RS256 access token for a confidential client authenticating with `client_secret_basic`; the peak RSS
  of every process of each server beside it;
- people's sign-ins per second through each one's own login pages (authorization request, login form with
  password, then the TOTP form; done when the browser is sent back with a code), by `SIGN_IN_CONCURRENCY`
  browsers (httpx, one cookie jar each), every user signing in once with a fresh code (both refuse a replayed
  one), passwords checked with each product's configured KDF.

Vigil is `vigil serve` (the composed app, as deployed) with one process per core, its decision events drained from
the siem stream as the worker would; its per-address request limit is lifted (`RATE_LIMIT_PER_IP`), since the
load comes from one address and Keycloak has no such limit. Keycloak is engineer federation's launcher
(`vigil.services.keycloak`, the Maven Central distribution, `start-dev`, dev-mem database) on this benchmark's own
ports with a realm written here (`vigil-bench`: the same two clients, the same users with the same TOTP
secrets). A server that cannot start makes its rows say "not run". The table lands in docs/benchmarks.md between
the `bench:issuer` markers.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
import pyotp
import redis
from pydantic import SecretStr

from bench.edge_wire import running, siem_worker_stand_in
from bench.load import LoadResult, ProcessTree, wrk
from bench.report import Row, table, write_section
from bench.siem import cleanup
from edgeauth.issuer import ClientRegistry
from edgeauth.people import PeopleDirectory
from edgeauth.settings import PeopleSettings
from vigil.clients import elasticsearch_client, redis_client
from vigil.services.keycloak import KeycloakService
from vigil.settings import VigilSettings

QUICK = bool(os.environ.get("VIGIL_BENCH_QUICK"))
ROOT = Path(__file__).resolve().parents[1]
# issue 17's benchmark ports (engineer issuer-speed's range), clear of a developer's usual 8000/8080/9000.
VIGIL_PORT, KEYCLOAK_PORT, KEYCLOAK_MANAGEMENT_PORT = 18743, 18745, 18746
REALM = "vigil-bench"
REDIRECT = "https://app.bench.example/callback"
PASSWORD = "bench-" + secrets.token_urlsafe(18)  # one per run, the same on both sides
TOKEN_CLIENT, WEB_CLIENT = "bench-tokens", "bench-web"
SIGN_IN_CONCURRENCY = 8


@dataclass(frozen=True)
class Plan:
    rounds: int
    seconds: float
    users_per_round: int


PLAN = Plan(rounds=3, seconds=4, users_per_round=60) if QUICK else Plan(rounds=5, seconds=10, users_per_round=300)


@dataclass
class Person:
    username: str
    totp: pyotp.TOTP


@dataclass
class Target:
    """One product under test: where its token endpoint is, its process tree, its people and its sign-in walk."""

    name: str
    token_url: str
    client_secret: str
    tree: ProcessTree
    people: list[Person]
    sign_in: Callable[[httpx.Client, Person], bool]
    kdf: str
    tokens: dict[int, list[LoadResult]] = field(default_factory=dict)
    sign_ins: list[float] = field(default_factory=list)
    refused: int = 0


# -- the two servers -------------------------------------------------------------------------------------------


def bench_settings(namespace: str) -> VigilSettings:
    base = VigilSettings().in_namespace(namespace)
    edgeauth = base.edgeauth.model_copy(
        update={"issuer": f"http://127.0.0.1:{VIGIL_PORT}", "key_encryption_key": SecretStr(f"bench-{namespace}")}
    )
    return base.model_copy(update={"edgeauth": edgeauth})


def make_people(count: int) -> list[Person]:
    """People to sign in; their TOTP secrets are set at enrolment."""
    return [Person(f"u{i:05d}", pyotp.TOTP(pyotp.random_base32())) for i in range(count)]


@contextmanager
def vigil(settings: VigilSettings, people: list[Person]) -> Iterator[Target]:
    """`vigil serve` with one process per core; its clients and people created through the real registry and
    directory (argon2id at the configured cost), each person's TOTP enrolled with their secret."""
    edgeauth = settings.edgeauth
    conn = redis_client(settings)
    registry = ClientRegistry.from_settings(edgeauth, conn)
    secret = registry.create(TOKEN_CLIENT, actor="bench", role="ingest", audiences=list(edgeauth.audiences))
    registry.create(
        WEB_CLIENT,
        actor="bench",
        role="analyst",
        audiences=list(edgeauth.audiences),
        redirect_uris=[REDIRECT],
        public=True,
        first_party=True,
    )
    directory = PeopleDirectory.from_settings(edgeauth, conn)
    for person in people:
        directory.create(person.username, actor="bench", roles=["analyst"], password=PASSWORD)
        enrolment = directory.begin_totp_enrolment(person.username, actor="bench")
        person.totp = pyotp.TOTP(enrolment.secret.get_secret_value())
        directory.confirm_totp(person.username, person.totp.now(), actor="bench")
    workers = os.cpu_count() or 1
    env = {
        **os.environ,
        "VIGIL_NAMESPACE": settings.namespace,
        "VIGIL_EDGEAUTH__ISSUER": edgeauth.issuer,
        "VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY": edgeauth.key_encryption_key.get_secret_value()
        if edgeauth.key_encryption_key
        else "",
        "VIGIL_EDGEAUTH__OAUTH__RATE_LIMIT_PER_IP": str(10**9),
        "VIGIL_EDGEAUTH__OAUTH__SSO_COOKIE_INSECURE": "true",
    }
    command = [str(Path(sys.executable).with_name("vigil")), "serve", "--port", str(VIGIL_PORT)]
    command += ["--workers", str(workers), "--log-level", "warning"]
    base = edgeauth.issuer
    try:
        with (
            running("vigil serve", base, base + "/healthz", command, env) as served,
            siem_worker_stand_in(conn, settings.namespace),
        ):
            yield Target(
                f"Vigil ({workers} worker(s))",
                base + "/oauth/token",
                secret.client_secret.get_secret_value() if secret.client_secret else "",
                served.tree,
                people,
                lambda browser, person: vigil_sign_in(base, browser, person),
                f"argon2id m={edgeauth.people.argon2_memory_kib // 1024} MiB, "
                f"t={edgeauth.people.argon2_time_cost}, p={edgeauth.people.argon2_parallelism}",
            )
    finally:
        cleanup(elasticsearch_client(settings), settings.namespace)  # the app's indices and templates, Redis keys


def keycloak_realm(people: list[Person], client_secret: str) -> dict[str, Any]:
    """The bench realm: the same two clients and the same people (password + TOTP) as on Vigil's side."""
    users = []
    for person in people:
        # Keycloak keys TOTP with the secret's UTF-8 bytes; pyotp with a base32 secret's decoded bytes.
        raw = base64.b32decode(person.totp.secret).hex()
        person_kc = pyotp.TOTP(base64.b32encode(raw.encode()).decode().rstrip("="))
        users.append(
            {
                "username": person.username,
                "enabled": True,
                "email": f"{person.username}@bench.example",
                "emailVerified": True,
                "firstName": "Bench",
                "lastName": person.username,
                "credentials": [
                    {"type": "password", "value": PASSWORD, "temporary": False},
                    {
                        "type": "otp",
                        "userLabel": "bench",
                        "secretData": json.dumps({"value": raw}),
                        "credentialData": json.dumps(
                            {"subType": "totp", "digits": 6, "counter": 0, "period": 30, "algorithm": "HmacSHA1"}
                        ),
                    },
                ],
            }
        )
        person.totp = person_kc
    return {
        "realm": REALM,
        "enabled": True,
        "sslRequired": "none",
        "otpPolicyType": "totp",
        "otpPolicyAlgorithm": "HmacSHA1",
        "otpPolicyDigits": 6,
        "otpPolicyPeriod": 30,
        "otpPolicyLookAheadWindow": 1,
        "clients": [
            {
                "clientId": TOKEN_CLIENT,
                "enabled": True,
                "publicClient": False,
                "secret": client_secret,
                "serviceAccountsEnabled": True,
                "standardFlowEnabled": False,
                "directAccessGrantsEnabled": False,
                "protocol": "openid-connect",
            },
            {
                "clientId": WEB_CLIENT,
                "enabled": True,
                "publicClient": True,
                "standardFlowEnabled": True,
                "directAccessGrantsEnabled": False,
                "redirectUris": [REDIRECT],
                "attributes": {"pkce.code.challenge.method": "S256"},
                "protocol": "openid-connect",
            },
        ],
        "users": users,
    }


@contextmanager
def keycloak(settings: VigilSettings, people: list[Person]) -> Iterator[Target]:
    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as tmp:
        realm_file = Path(tmp) / f"{REALM}.json"
        realm_file.write_text(json.dumps(keycloak_realm(people, secret)), encoding="utf-8")
        configured = settings.model_copy(
            update={
                "keycloak_url": f"http://127.0.0.1:{KEYCLOAK_PORT}",
                "keycloak_management_port": KEYCLOAK_MANAGEMENT_PORT,
                "keycloak_realm_file": realm_file,
                "keycloak_start_timeout": 600.0,
            }
        )
        service = KeycloakService(configured, realm=REALM)
        service.up()
        try:
            pid = service.status().pid
            assert pid is not None, "Keycloak runs without a pid file"
            yield Target(
                f"Keycloak {configured.keycloak_version}",
                f"{service.issuer}/protocol/openid-connect/token",
                secret,
                ProcessTree(pid),
                people,
                lambda browser, person: keycloak_sign_in(service.issuer, browser, person),
                "Keycloak's default password hashing",
            )
        finally:
            service.down()


# -- one sign-in through each login page ---------------------------------------------------------------------


def _pkce() -> dict[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return {"code_challenge": challenge.decode(), "code_challenge_method": "S256"}


def _authorize_query() -> str:
    return urlencode(
        {
            "response_type": "code",
            "client_id": WEB_CLIENT,
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            **_pkce(),
        }
    )


def _field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else ""


def _next_code(totp: pyotp.TOTP) -> str:
    # The enrolment spent the current step on Vigil's side; both accept the next one (one step of look-ahead).
    return totp.at(time.time() + totp.interval)


def vigil_sign_in(base: str, browser: httpx.Client, person: Person) -> bool:
    started = browser.get(f"{base}/oauth/authorize?{_authorize_query()}")
    if started.status_code != 302:
        return False
    login = urljoin(base, started.headers["location"])
    page = browser.get(login)
    form = {"pending": _field(page.text, "pending"), "csrf": _field(page.text, "csrf")}
    step = browser.post(f"{base}/oauth/login", data={**form, "username": person.username, "password": PASSWORD})
    form = {"pending": _field(step.text, "pending"), "csrf": _field(step.text, "csrf")}
    done = browser.post(f"{base}/oauth/login", data={**form, "code": _next_code(person.totp)})
    return done.status_code == 302 and done.headers.get("location", "").startswith(REDIRECT + "?")


def _action(page: str) -> str | None:
    found = re.search(r'<form[^>]*action="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def _carry(jar: dict[str, str], response: httpx.Response) -> dict[str, str]:
    """The Cookie header to send next. Keycloak marks its cookies `Secure` even on http://127.0.0.1 (browsers
    treat loopback as a secure context; httpx does not send them), so they are carried by hand."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0]
        if value and "max-age=0" not in header.lower():
            jar[name.strip()] = value
        else:
            jar.pop(name.strip(), None)
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}


def keycloak_sign_in(issuer: str, browser: httpx.Client, person: Person) -> bool:
    jar: dict[str, str] = {}
    page = browser.get(f"{issuer}/protocol/openid-connect/auth?{_authorize_query()}")
    action = _action(page.text)
    if page.status_code != 200 or action is None:
        return False
    form = {"username": person.username, "password": PASSWORD, "credentialId": ""}
    step = browser.post(action, data=form, headers=_carry(jar, page))
    action = _action(step.text)
    if step.status_code != 200 or action is None:
        return False
    done = browser.post(action, data={"otp": _next_code(person.totp), "login": "Sign In"}, headers=_carry(jar, step))
    return done.status_code == 302 and done.headers.get("location", "").startswith(REDIRECT)


# -- measurements ------------------------------------------------------------------------------------------------


def token_script(folder: Path, name: str, client_id: str, secret: str) -> Path:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    lua = [
        'wrk.method = "POST"',
        'wrk.body = "grant_type=client_credentials"',
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"',
        f'wrk.headers["Authorization"] = "Basic {basic}"',
    ]
    script = folder / f"{name}.lua"
    script.write_text("\n".join(lua) + "\n", encoding="utf-8")
    return script


def sign_in_round(target: Target, people: list[Person], seconds: float) -> float:
    """Sign-ins completed per second by `SIGN_IN_CONCURRENCY` browsers until `people` or `seconds` run out."""
    deadline = time.monotonic() + seconds
    queue = iter(people)

    def browse() -> tuple[int, int]:
        done = refused = 0
        # One client per browser thread (a new one per sign-in would spend the machine's CPU on SSL contexts);
        # its cookies are cleared between people, so every sign-in starts without a session.
        with httpx.Client(follow_redirects=False, timeout=30) as browser:
            while time.monotonic() < deadline:
                person = next(queue, None)
                if person is None:
                    break
                browser.cookies.clear()
                ok = target.sign_in(browser, person)
                done, refused = done + ok, refused + (not ok)
        return done, refused

    started = time.monotonic()
    with ThreadPoolExecutor(SIGN_IN_CONCURRENCY) as pool:
        results = list(pool.map(lambda _: browse(), range(SIGN_IN_CONCURRENCY)))
    elapsed = time.monotonic() - started
    target.refused += sum(r for _, r in results)
    return sum(d for d, _ in results) / elapsed


def measure(targets: list[Target]) -> None:
    """Interleaved: each round runs every configuration on every target in turn."""
    threads = min(4, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {
            t.name: token_script(Path(tmp), f"t{i}", TOKEN_CLIENT, t.client_secret) for i, t in enumerate(targets)
        }
        for target in targets:  # warm-up, one round's length: the JVM's JIT, connection pools, key caches
            wrk(target.token_url, scripts[target.name], 16, PLAN.seconds, target.tree, threads)
        for n in range(PLAN.rounds):
            # A B in even rounds, B A in odd ones: neither side always meets the machine first.
            order = targets if n % 2 == 0 else targets[::-1]
            for connections in (16, 64):
                for target in order:
                    result = wrk(
                        target.token_url, scripts[target.name], connections, PLAN.seconds, target.tree, threads
                    )
                    target.tokens.setdefault(connections, []).append(result)
            for target in order:
                batch = target.people[n * PLAN.users_per_round : (n + 1) * PLAN.users_per_round]
                target.sign_ins.append(sign_in_round(target, batch, PLAN.seconds))
            print(f"issuer bench: round {n + 1}/{PLAN.rounds} done", file=sys.stderr, flush=True)


def _median(results: list[LoadResult], pick: Callable[[LoadResult], float]) -> float:
    return statistics.median(pick(r) for r in results)


def rows(vigil_target: Target | None, peer: Target | None, peer_reason: str) -> list[Row]:
    out: list[Row] = []
    not_run = f"not run: {peer_reason}" if peer is None else ""
    for connections in (16, 64):
        ours = vigil_target.tokens[connections] if vigil_target else []
        theirs = peer.tokens[connections] if peer else []
        rps = _median(ours, lambda r: r.rps) if ours else 0.0
        p99 = _median(ours, lambda r: r.p99_ms) if ours else 0.0
        bad = sum(r.non_2xx + r.errors for r in ours)
        cpu = _median(ours, lambda r: r.cpu_us_per_request) if ours else 0.0
        if theirs:
            peer_rps, peer_p99 = _median(theirs, lambda r: r.rps), _median(theirs, lambda r: r.p99_ms)
            peer_bad = sum(r.non_2xx + r.errors for r in theirs)
            peer_cpu = _median(theirs, lambda r: r.cpu_us_per_request)
            baseline = f"Keycloak {peer_rps:,.0f} tokens/s, p99 {peer_p99:,.1f} ms"
            ratio, met = f"{rps / peer_rps:.2f}x", rps >= peer_rps and p99 < peer_p99
        else:
            baseline, ratio, met, peer_bad, peer_cpu = not_run, "-", None, 0, 0.0
        out.append(
            Row(
                f"client_credentials, {connections} conns: tokens/s, p99",
                f"{rps:,.0f} tokens/s, p99 {p99:,.1f} ms" if ours else "not run",
                baseline,
                ratio,
                ">= 1.0x Keycloak's tokens/s and a shorter p99",
                met if ours else None,
                f"{PLAN.rounds} interleaved rounds of {PLAN.seconds:.0f} s, medians; server CPU per token ours "
                f"{cpu / 1000:.1f} ms, Keycloak {peer_cpu / 1000:.1f} ms; non-2xx/errors ours {bad}, "
                f"Keycloak {peer_bad}",
            )
        )
    if vigil_target:
        ours_rss = max(r.peak_rss_mib for rs in vigil_target.tokens.values() for r in rs)
        theirs_rss = max((r.peak_rss_mib for rs in peer.tokens.values() for r in rs), default=0.0) if peer else 0.0
        out.append(
            Row(
                "issuer memory under load, every process (peak RSS)",
                f"{ours_rss:,.0f} MiB ({vigil_target.name})",
                f"Keycloak {theirs_rss:,.0f} MiB" if peer else not_run,
                f"{ours_rss / theirs_rss:.2f}x" if peer and theirs_rss else "-",
                "(reference)",
                None,
                "Keycloak's JVM heap capped by VIGIL_KEYCLOAK_HEAP",
            )
        )
        rate = statistics.median(vigil_target.sign_ins)
        peer_rate = statistics.median(peer.sign_ins) if peer else 0.0
        out.append(
            Row(
                "people's sign-ins (password + TOTP, login pages) per second",
                f"{rate:,.1f} /s ({vigil_target.kdf})",
                f"Keycloak {peer_rate:,.1f} /s ({peer.kdf})" if peer else not_run,
                f"{rate / peer_rate:.2f}x" if peer and peer_rate else "-",
                "(reference; the KDF cost is chosen for safety, not speed)",
                None,
                f"{SIGN_IN_CONCURRENCY} browsers, {PLAN.users_per_round} fresh users a round, medians of "
                f"{PLAN.rounds}; refused sign-ins ours {vigil_target.refused}"
                + (f", Keycloak {peer.refused}" if peer else ""),
            )
        )
    return out


def render(out: list[Row], elapsed: float) -> str:
    people = PeopleSettings()
    lines = [
        f"### issuer ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores shared with the other services"
        f", 1-min load average {os.getloadavg()[0]:.1f} at the end, {elapsed / 60:.0f} min"
        f"{', QUICK smoke run' if QUICK else ''})",
        "",
        "Vigil's issuer (`vigil serve`, one process per core, client secrets as HMAC-SHA-256 under the sealed server"
        " key) against Keycloak (Maven Central distribution, `start-dev`, dev-mem database) on the same machine, taking"
        " turns round by round; wrk closed loop on `POST /oauth/token` with `client_secret_basic`. The load comes from"
        " one address, so Vigil's per-address request limit is lifted for the run (Keycloak has none).",
        "",
        f"KDF of people's passwords: argon2id m={people.argon2_memory_kib // 1024} MiB, t={people.argon2_time_cost},"
        f" p={people.argon2_parallelism} (OWASP's baseline; docs/identity.md gives the measurement and the reasoning):"
        " memory-hard enough that each guess costs an attacker the same 19 MiB pass, while one check stays at tens"
        " of milliseconds of one core. Machine-client secrets never pay it (256 random bits). On a box whose load"
        " average exceeds its core count the absolute figures are queueing as much as work: read the ratios and the"
        " server CPU per token.",
        "",
        *table(out),
    ]
    return "\n".join(lines)


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("bench issuer: wrk is not installed")
    started = time.monotonic()
    namespace = f"benchissuer{uuid.uuid4().hex[:8]}"
    settings = bench_settings(namespace)
    people = make_people(PLAN.rounds * PLAN.users_per_round)
    conn: redis.Redis = redis_client(settings)
    conn.ping()
    with vigil(settings, people) as ours:
        peer: Target | None = None
        reason = ""
        try:
            kc_people = [Person(p.username, pyotp.TOTP(p.totp.secret)) for p in people]
            with keycloak(settings, kc_people) as peer:
                measure([ours, peer])
        except Exception as exc:  # the peer's failure becomes its row; ours still runs
            reason = f"{type(exc).__name__}: {str(exc)[:160]}"
            print(f"issuer bench: Keycloak not run: {reason}", file=sys.stderr, flush=True)
            peer = None
            ours.tokens.clear()
            ours.sign_ins.clear()
            measure([ours])
    text = render(rows(ours, peer, reason), time.monotonic() - started)
    print(text)
    write_section("issuer", text)


if __name__ == "__main__":
    main()
