"""The traffic generator's pure parts: who sends what, and the report's figures."""

from __future__ import annotations

import ipaddress
import random
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from vigil.demo.traffic import StoreClient, TrafficReport, normal_calls, user_ip

CLIENTS = [StoreClient(f"storefront-app-{i:03d}", SecretStr("s" * 32), writes=i % 4 != 3) for i in range(8)]
TOKENS = {c.client_id: f"token-{c.client_id}" for c in CLIENTS}


@given(st.integers(min_value=0, max_value=254 * 65536 - 1))
def test_every_user_gets_a_valid_private_source_address(user: int) -> None:
    address = ipaddress.ip_address(user_ip(user))
    assert address.is_private
    assert address in ipaddress.ip_network("10.0.0.0/8")
    assert not str(address).endswith((".0", ".255"))


def test_distinct_users_have_distinct_addresses() -> None:
    assert len({user_ip(u) for u in range(70_000)}) == 70_000


def test_a_day_is_reproducible_and_uses_each_users_client_token() -> None:
    first = normal_calls(random.Random(7), range(200), 3, TOKENS, CLIENTS)
    again = normal_calls(random.Random(7), range(200), 3, TOKENS, CLIENTS)
    assert first == again
    assert len(first) == 600
    by_ip = {c.source_ip: c.token for c in first if c.token}
    assert by_ip[user_ip(9)] == TOKENS[CLIENTS[9 % len(CLIENTS)].client_id]


def _route(path: str) -> str:
    bare = path.split("?")[0]
    return bare.rsplit("/", 1)[0] if bare.count("/") > 2 else bare


def test_a_day_mixes_routes_and_a_few_broken_tokens() -> None:
    calls = normal_calls(random.Random(11), range(2000), 2, TOKENS, CLIENTS)
    kinds = Counter((c.method, _route(c.path)) for c in calls)
    assert kinds[("GET", "/api/orders")] > kinds[("POST", "/api/orders")] > 0
    assert kinds[("GET", "/api/reports")] > 0
    broken = [c for c in calls if c.token is None]
    assert 0 < len(broken) < len(calls) // 50
    assert all(c.raw_authorization == "Bearer undefined" for c in broken)


def test_the_report_counts_per_phase_and_takes_the_99th_percentile() -> None:
    report = TrafficReport()
    assert report.p99_ms() is None
    report.latencies_ms.extend(float(i) for i in range(1, 101))
    report.statuses[("normal", 200)] += 5
    report.statuses[("forgery", 401)] += 2
    report.statuses[("normal", 401)] += 1
    assert report.p99_ms() == 100.0
    assert report.requests == 8
    assert report.by_phase() == {"normal": Counter({200: 5, 401: 1}), "forgery": Counter({401: 2})}
