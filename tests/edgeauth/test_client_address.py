"""Issue 13 item 4: the client address comes from the socket unless the peer is a trusted proxy.

Forwarding headers sent by anyone else are ignored on `/verify` and in the app's guard; decision events (what
the forgery and stuffing rules group on) carry the address that was believed.
"""

from __future__ import annotations

import ipaddress

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from edgeauth import (
    ClientAddress,
    CollectingSink,
    DecisionBuffer,
    EdgeAuthSettings,
    Guard,
    JwksCache,
    Principal,
    SigningKey,
    Verifier,
    create_verify_router,
)
from tests.edgeauth.hostile import ISSUER, claims, header, rsa_sign

KEY = SigningKey.generate()
PROXY = ("10.1.2.3", 40000)
STRANGER = ("203.0.113.9", 40000)
SPOOF = {"X-Real-IP": "198.51.100.66", "X-Forwarded-For": "198.51.100.77"}


def _networks(*cidrs: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(c) for c in cidrs]


def test_nobody_is_trusted_by_default() -> None:
    clients = ClientAddress(EdgeAuthSettings().trusted_proxies)
    assert clients.resolve("203.0.113.9", "1.1.1.1", "2.2.2.2") == "203.0.113.9"


def test_a_trusted_proxy_names_the_client() -> None:
    clients = ClientAddress(_networks("10.0.0.0/8", "::1/128"))
    assert clients.resolve("10.1.2.3", "198.51.100.1", None) == "198.51.100.1"
    assert clients.resolve("::1", " 198.51.100.1 ", None) == "198.51.100.1"
    # X-Forwarded-For: the rightmost hop that is not a proxy of ours; whatever the client wrote left of it is not.
    assert clients.resolve("10.1.2.3", None, "6.6.6.6, 198.51.100.2, 10.9.9.9") == "198.51.100.2"
    # Garbage from a trusted proxy: fall back to the socket rather than believe half of it.
    assert clients.resolve("10.1.2.3", "not-an-ip", None) == "10.1.2.3"
    assert clients.resolve("10.1.2.3", None, "x, 198.51.100.2") == "198.51.100.2"
    assert clients.resolve("10.1.2.3", None, "198.51.100.2, junk") == "10.1.2.3"


def test_a_stranger_cannot_name_the_client() -> None:
    clients = ClientAddress(_networks("10.0.0.0/8"))
    assert clients.resolve("203.0.113.9", "198.51.100.1", "198.51.100.2") == "203.0.113.9"
    assert clients.resolve(None, "198.51.100.1", None) is None


def test_trusted_proxies_are_read_from_the_environment_form() -> None:
    settings = EdgeAuthSettings.model_validate({"trusted_proxies": ["10.0.0.0/8", "fd00::/8"]})
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "fd00::/8"]
    with pytest.raises(ValueError, match="trusted_proxies"):
        EdgeAuthSettings.model_validate({"trusted_proxies": ["10.0.0.300/8"]})


@pytest.fixture
def surfaces() -> tuple[FastAPI, Verifier, CollectingSink]:
    settings = EdgeAuthSettings(issuer=ISSUER, trusted_proxies=_networks("10.0.0.0/8"))
    sink = CollectingSink()
    verifier = Verifier(
        settings, JwksCache(settings, initial={"keys": [KEY.public_jwk()]}), decisions=DecisionBuffer(sink)
    )
    guard = Guard(verifier)
    app = FastAPI()
    app.include_router(create_verify_router(verifier))

    @app.get("/api/thing")
    def thing(principal: Principal = Depends(guard.require())) -> dict[str, str]:  # noqa: B008
        return {"subject": principal.subject}

    return app, verifier, sink


@pytest.mark.parametrize("path", ["/verify", "/api/thing"])
def test_spoofed_forwarding_headers_are_ignored_on_every_surface(
    surfaces: tuple[FastAPI, Verifier, CollectingSink], path: str
) -> None:
    app, verifier, sink = surfaces
    token = rsa_sign(KEY, header(KEY), claims(scope="alerts:read"))
    for peer in (STRANGER, PROXY):
        client = TestClient(app, client=peer)
        for auth in (f"Bearer {token}", "Bearer not-a-token"):
            client.get(path, headers={"Authorization": auth, "X-Original-URI": "/api/thing", **SPOOF})
    assert verifier.decisions is not None
    verifier.decisions.flush()
    seen = [e.source_ip for e in sink.events]
    # A stranger's headers are ignored (success and refusal alike); the trusted proxy's X-Real-IP is believed.
    assert seen == ["203.0.113.9", "203.0.113.9", "198.51.100.66", "198.51.100.66"]


_addresses = st.ip_addresses().map(str)
_header = st.none() | st.text(max_size=60) | st.lists(_addresses, max_size=4).map(", ".join)


@given(peer=_addresses, real_ip=_header, forwarded=_header)
def test_headers_move_the_client_only_for_a_trusted_peer(peer: str, real_ip: str | None, forwarded: str | None) -> None:
    clients = ClientAddress(_networks("10.0.0.0/8"))
    resolved = clients.resolve(peer, real_ip, forwarded)
    if ipaddress.ip_address(peer) not in ipaddress.ip_network("10.0.0.0/8"):
        assert resolved == peer
    else:
        # Whatever a trusted proxy says, the answer is an address: the peer's or one the headers hold.
        assert resolved is not None
        ipaddress.ip_address(resolved)
