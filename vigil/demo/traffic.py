"""The traffic generator: a compressed day of the storefront, through nginx and the edge, with an attack storyline.

Users (one source address each, sent as X-Forwarded-For, which nginx and the issuer trust from loopback) use the
storefront through client applications holding real tokens from the token endpoint. Between the morning and the
afternoon the attack storyline plays (see `vigil.demo.attacks`), and the exception log shipper dies, which is the
log source that goes silent.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vigil.demo.attacks import (
    REPLAYER_IP,
    Call,
    forgery_calls,
    injection_calls,
    scanner_calls,
    stuffing_calls,
)
from vigil.errors import VigilError

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Storefront-Android/7.4.1 okhttp/4.12.0",
)
SEARCH_WORDS = ("shoes", "red dress", "usb-c cable", "coffee", "lamp", "gift card", "tent", "headphones")
RETRY_STATUSES = frozenset({429})


class TrafficError(VigilError):
    """The storefront, nginx or the issuer could not be used by the traffic generator."""


@dataclass(frozen=True)
class StoreClient:
    client_id: str
    secret: SecretStr
    writes: bool

    @property
    def server_ip(self) -> str:
        return f"172.16.{sum(self.client_id.encode()) % 250}.{len(self.client_id) + 10}"


@dataclass
class TrafficReport:
    """What the generator saw from the outside: statuses per phase and round-trip latencies through nginx."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    transport_errors: int = 0
    tokens_issued: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def p99_ms(self) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    def by_phase(self) -> dict[str, Counter[int]]:
        out: dict[str, Counter[int]] = {}
        for (phase, status), count in self.statuses.items():
            out.setdefault(phase, Counter())[status] += count
        return out


def user_ip(user: int) -> str:
    """A distinct host address in 10.0.0.0/8 per user (never .0 or .255), for up to 254 * 65536 users."""
    subnet, host = divmod(user, 254)
    return f"10.{(subnet >> 8) & 255}.{subnet & 255}.{host + 1}"


def normal_calls(
    rng: random.Random, users: Sequence[int], per_user: int, tokens: dict[str, str], clients: Sequence[StoreClient]
) -> list[Call]:
    """Ordinary storefront use; about 1 in 100 report views times out upstream (a routine exception)."""
    calls = []
    for user in users:
        client = clients[user % len(clients)]
        agent = USER_AGENTS[user % len(USER_AGENTS)]
        for _ in range(per_user):
            roll = rng.random()
            if roll < 0.45:
                method, path = "GET", "/api/orders"
            elif roll < 0.65:
                method, path = "GET", f"/api/orders/{rng.randint(1, 99_999)}"
            elif roll < 0.75:
                method, path = "POST", "/api/orders"
            elif roll < 0.90:
                method, path = "GET", f"/api/search?q={rng.choice(SEARCH_WORDS).replace(' ', '+')}"
            elif roll < 0.98:
                method, path = "GET", f"/api/reports/{rng.randint(1, 999)}"
            else:
                method, path = "GET", f"/api/files?name=invoice-{rng.randint(1000, 9999)}.pdf"
            broken = rng.random() < 0.005
            calls.append(
                Call(
                    "normal",
                    method,
                    path,
                    user_ip(user),
                    agent,
                    token=None if broken else tokens[client.client_id],
                    raw_authorization="Bearer undefined" if broken else None,
                )
            )
    rng.shuffle(calls)
    return calls


class Traffic:
    def __init__(self, http: httpx.AsyncClient, *, issuer_url: str, proxy_url: str, concurrency: int) -> None:
        self.http = http
        self.issuer_url = issuer_url
        self.proxy_url = proxy_url
        self.limit = asyncio.Semaphore(concurrency)
        self.report = TrafficReport()
        self.progress: Callable[[int], None] = lambda _: None

    async def send(self, call: Call) -> httpx.Response | None:
        headers = {"user-agent": call.user_agent, "x-forwarded-for": call.source_ip}
        if call.token is not None:
            headers["authorization"] = f"Bearer {call.token}"
        elif call.raw_authorization is not None:
            headers["authorization"] = call.raw_authorization
        url = (self.issuer_url if call.via_issuer else self.proxy_url) + call.path
        auth = httpx.BasicAuth(*call.basic) if call.basic else None
        loop = asyncio.get_running_loop()
        async with self.limit:
            started = loop.time()
            try:
                response = await self.http.request(call.method, url, headers=headers, data=call.form, auth=auth)
            except httpx.HTTPError:
                self.report.transport_errors += 1
                self.progress(1)
                return None
            if not call.via_issuer:
                self.report.latencies_ms.append((loop.time() - started) * 1000)
        self.report.statuses[(call.phase, response.status_code)] += 1
        self.progress(1)
        return response

    async def play(self, calls: Sequence[Call]) -> list[httpx.Response | None]:
        return list(await asyncio.gather(*(self.send(c) for c in calls)))

    async def token(self, client: StoreClient, source_ip: str | None = None) -> str:
        call = Call(
            "tokens",
            "POST",
            "/oauth/token",
            source_ip or client.server_ip,
            "storefront-backend/2.3",
            form={"grant_type": "client_credentials"},
            basic=(client.client_id, client.secret.get_secret_value()),
            via_issuer=True,
        )
        response = await self.send(call)
        if response is None or response.status_code != 200:
            detail = "no answer" if response is None else f"{response.status_code} {response.text[:200]}"
            raise TrafficError(f"the token endpoint refused {client.client_id}: {detail}")
        self.report.tokens_issued += 1
        return str(response.json()["access_token"])

    async def replay_revoked(self, client: StoreClient) -> None:
        """A token leaks, is used, gets revoked by its owner; the thief replays it afterwards."""
        token = await self.token(client)
        await self.send(Call("replay", "GET", "/api/orders", client.server_ip, "storefront-backend/2.3", token=token))
        revoke = Call(
            "replay",
            "POST",
            "/oauth/revoke",
            client.server_ip,
            "storefront-backend/2.3",
            form={"token": token, "token_type_hint": "access_token"},
            basic=(client.client_id, client.secret.get_secret_value()),
            via_issuer=True,
        )
        answer = await self.send(revoke)
        if answer is None or answer.status_code != 200:
            raise TrafficError(f"revoking a token of {client.client_id} failed")
        # The edge learns revocations from a Redis stream within about a second (`revocation_block_ms`).
        await asyncio.sleep(3.0)
        await self.play([Call("replay", "GET", "/api/orders", REPLAYER_IP, "python-requests/2.31.0", token=token)] * 3)


@dataclass(frozen=True)
class Storyline:
    clients: Sequence[StoreClient]
    users: int
    requests_per_user: int
    audience: str
    issuer: str
    seed: int = 20261129


async def play_day(
    traffic: Traffic, story: Storyline, jwks: dict[str, object], silence: Callable[[], Awaitable[None]]
) -> TrafficReport:
    """Play the whole day; `silence` stops the exception log shipper between the morning and the attacks."""
    rng = random.Random(story.seed)  # noqa: S311 - reproducible traffic, not a secret
    clients = list(story.clients)
    morning_users = range(0, story.users // 2)
    afternoon_users = range(story.users // 2, story.users)
    stolen = clients[0]
    stuffing = stuffing_calls([c.client_id for c in clients])
    # tokens, payloads, scanner, forgeries (7), stuffing, replay (token, use, revoke, three replays)
    fixed = len(clients) + len(injection_calls("")) + len(scanner_calls()) + 7 + len(stuffing) + 6
    total = story.users * story.requests_per_user + fixed
    console = Console(stderr=True)
    columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("tokens for every client", total=total)
        traffic.progress = lambda n: progress.advance(task, n)
        tokens = dict(
            zip(
                [c.client_id for c in clients],
                await asyncio.gather(*(traffic.token(c) for c in clients)),
                strict=True,
            )
        )
        progress.update(task, description="morning: users shopping")
        await traffic.play(normal_calls(rng, morning_users, story.requests_per_user, tokens, clients))
        progress.update(task, description="attack: injection and traversal")
        await traffic.play(injection_calls(tokens[stolen.client_id]))
        progress.update(task, description="the exception shipper dies")
        await silence()
        progress.update(task, description="attack: vulnerability scanner")
        await traffic.play(scanner_calls())
        progress.update(task, description="attack: forged tokens, alg confusion")
        await traffic.play(forgery_calls(story.issuer, story.audience, stolen.client_id, jwks))
        progress.update(task, description="attack: credential stuffing")
        await traffic.play(stuffing)
        progress.update(task, description="attack: replay of a revoked token")
        await traffic.replay_revoked(clients[1])
        progress.update(task, description="afternoon: users shopping")
        await traffic.play(normal_calls(rng, afternoon_users, story.requests_per_user, tokens, clients))
        progress.update(task, description="day played", completed=total)
    return traffic.report
