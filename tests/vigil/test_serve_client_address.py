"""`vigil serve` reads the client address the way edgeauth's `TRUSTED_PROXIES` rule says, never from uvicorn's own
`X-Forwarded-For` rewrite: a loopback peer that invents an address per request is still one address."""

from __future__ import annotations

import httpx
import pytest

from tests.vigil.running import RunningVigil

pytestmark = pytest.mark.integration

# This suite's own port (the fixer range 18900-18999), so the app meets no other run.
PORT = 18931
ALLOWANCE = 3


def test_spoofed_forwarded_for_from_loopback_does_not_spread_the_per_address_rate_limit(
    vigil_run: RunningVigil,
) -> None:
    url = vigil_run.start_app(
        port=PORT,
        VIGIL_EDGEAUTH__OAUTH__RATE_LIMIT_PER_IP=str(ALLOWANCE),
        VIGIL_EDGEAUTH__OAUTH__RATE_LIMIT_WINDOW="3600",
    )
    statuses = []
    with httpx.Client(base_url=url) as client:
        for n in range(ALLOWANCE + 2):
            response = client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "wrong"},
                # a new invented address per request: were it believed, each would get a fresh allowance
                headers={"X-Forwarded-For": f"203.0.113.{n + 1}", "X-Real-IP": f"198.51.100.{n + 1}"},
            )
            statuses.append(response.status_code)
    # every request counted against the socket peer 127.0.0.1: the allowance runs out, then 429
    assert all(status != 429 for status in statuses[:ALLOWANCE]), statuses
    assert statuses[ALLOWANCE:] == [429, 429], statuses
