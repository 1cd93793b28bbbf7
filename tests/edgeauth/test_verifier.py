"""The verifier core: checks, the verified-token cache, staleness policy, JWKS cache and decision events."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from edgeauth import (
    CollectingSink,
    DecisionBuffer,
    EdgeAuthError,
    EdgeAuthSettings,
    JwksCache,
    RequestContext,
    RoutePolicy,
    SigningKey,
    VerificationError,
    Verifier,
    http_jwks_source,
    mint_access_token,
)

ISSUER = "https://issuer.example"


class Revocations:
    def __init__(self) -> None:
        self.revoked: set[str] = set()
        self.age = 0.0

    def is_revoked(self, jti: str) -> bool:
        return jti in self.revoked

    def staleness(self) -> float:
        return self.age


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("RS256")


def make(key: SigningKey, **overrides: Any) -> tuple[Verifier, Revocations, CollectingSink]:
    settings = EdgeAuthSettings(issuer=ISSUER, **overrides)
    sink = CollectingSink()
    revocations = Revocations()
    verifier = Verifier(
        settings,
        JwksCache(settings, initial={"keys": [key.public_jwk()]}),
        revocations=revocations,
        decisions=DecisionBuffer(sink),
    )
    return verifier, revocations, sink


def token(key: SigningKey, scopes: tuple[str, ...] = ("alerts:read",), **kw: Any) -> str:
    args: dict[str, Any] = {
        "issuer": ISSUER,
        "subject": "svc",
        "audience": "vigil",
        "client_id": "client-1",
        "scopes": scopes,
        "ttl": 600,
    }
    args.update(kw)
    return mint_access_token(key, **args)


def reason(verifier: Verifier, tok: str, scopes: tuple[str, ...] = (), path: str | None = None) -> str:
    with pytest.raises(VerificationError) as info:
        verifier.verify(tok, scopes, context=RequestContext(path=path))
    return info.value.reason


def test_principal_carries_the_rfc9068_claims(key: SigningKey) -> None:
    verifier, _, _ = make(key)
    principal = verifier.verify(token(key, ("a", "b"), jti="j1", audience=["other", "vigil"]), ["a"])
    assert principal.subject == "svc"
    assert principal.client_id == "client-1"
    assert principal.scopes == frozenset({"a", "b"})
    assert principal.audience == ("other", "vigil")
    assert principal.token_id == "j1"
    assert (principal.expires_at - principal.issued_at).total_seconds() == 600


def test_cache_hit_still_checks_revocation_scopes_and_expiry(key: SigningKey) -> None:
    verifier, revocations, _ = make(key)
    now = time.time()
    tok = token(key, jti="hot", now=now - 600 + 2, ttl=600)
    assert verifier.verify(tok).token_id == "hot"
    assert verifier.verify(tok).token_id == "hot"  # from the cache
    assert reason(verifier, tok, ("admin",)) == "insufficient_scope"
    revocations.revoked.add("hot")
    assert reason(verifier, tok) == "revoked"
    revocations.revoked.clear()
    assert verifier.verify(tok).token_id == "hot"


def test_cached_entry_expires_with_its_token(key: SigningKey) -> None:
    verifier, _, _ = make(key, leeway=0)
    tok = token(key, jti="soon", ttl=600)
    verifier.verify(tok)
    # Age the cached entry instead of waiting: the hit path must compare exp with the clock.
    digest = next(iter(verifier._cache))
    entry = verifier._cache[digest]
    verifier._cache[digest] = type(entry)(entry.principal, time.time() - 1, entry.kid, entry.alg, entry.scopes)
    assert reason(verifier, tok) == "expired"
    assert digest not in verifier._cache


def test_cache_is_bounded(key: SigningKey) -> None:
    verifier, _, _ = make(key, token_cache_size=20)
    for i in range(50):
        verifier.verify(token(key, jti=f"t{i}"))
    assert len(verifier._cache) <= 20


def test_stale_state_fails_closed_by_default_and_open_per_route(key: SigningKey) -> None:
    verifier, revocations, _ = make(
        key, max_staleness=10, jwks_refresh_interval=1, route_policies=[RoutePolicy(path_prefix="/public", fail="open")]
    )
    tok = token(key)
    revocations.age = 11
    assert reason(verifier, tok, path="/api/alerts") == "stale"
    assert verifier.verify(tok, context=RequestContext(path="/public/status")).subject == "svc"
    revocations.age = 5
    assert verifier.verify(tok, context=RequestContext(path="/api/alerts")).subject == "svc"


def test_every_verification_emits_one_decision_event(key: SigningKey) -> None:
    verifier, _, sink = make(key)
    tok = token(key, jti="evt")
    ctx = RequestContext(source_ip="10.0.0.9", method="GET", path="/alerts", request_id="r-1")
    verifier.verify(tok, ["alerts:read"], context=ctx)
    with pytest.raises(VerificationError):
        verifier.verify(tok, ["admin"], context=ctx)
    with pytest.raises(VerificationError):
        verifier.verify("garbage", context=ctx)
    assert verifier.decisions is not None
    assert verifier.decisions.flush() == 3
    ok, scope, bad = sink.events
    assert (ok.outcome, ok.reason, ok.subject, ok.client_id, ok.jti) == ("success", "ok", "svc", "client-1", "evt")
    assert (ok.source_ip, ok.method, ok.path, ok.request_id, ok.alg) == ("10.0.0.9", "GET", "/alerts", "r-1", "RS256")
    assert ok.kid == key.kid
    assert ok.scopes == ("alerts:read",)
    assert ok.action == "verify"
    assert (scope.outcome, scope.reason, scope.subject) == ("failure", "insufficient_scope", "svc")
    assert (bad.outcome, bad.reason, bad.subject) == ("failure", "malformed", None)


def test_a_revoked_token_is_refused_with_its_identity_in_the_decision(key: SigningKey) -> None:
    """Analysts group replays by token id: the refusal of a revoked (authentic) token must name it."""
    verifier, revocations, sink = make(key)
    tok = token(key, jti="stolen-1")
    verifier.verify(tok)
    revocations.revoked.add("stolen-1")
    assert reason(verifier, tok) == "revoked"
    assert verifier.decisions is not None
    verifier.decisions.flush()
    refused = sink.events[-1]
    assert (refused.outcome, refused.reason) == ("failure", "revoked")
    assert (refused.jti, refused.subject, refused.client_id) == ("stolen-1", "svc", "client-1")


def test_a_full_buffer_drops_and_counts_never_blocks(key: SigningKey) -> None:
    settings = EdgeAuthSettings(issuer=ISSUER)
    buffer = DecisionBuffer(CollectingSink(), capacity=3)
    verifier = Verifier(settings, JwksCache(settings, initial={"keys": [key.public_jwk()]}), decisions=buffer)
    tok = token(key)
    for _ in range(10):
        verifier.verify(tok)
    assert len(buffer) == 3
    assert buffer.dropped == 7


def test_a_failing_sink_never_reaches_the_verifier(key: SigningKey) -> None:
    class Broken:
        def emit(self, events: object) -> None:
            raise RuntimeError("siem down")

    settings = EdgeAuthSettings(issuer=ISSUER)
    buffer = DecisionBuffer(Broken())
    verifier = Verifier(settings, JwksCache(settings, initial={"keys": [key.public_jwk()]}), decisions=buffer)
    verifier.verify(token(key))
    assert buffer.flush() == 1
    assert buffer.sink_failures == 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_unknown_kid_refetch_is_rate_limited_and_negatively_cached(key: SigningKey) -> None:
    other = SigningKey.generate()
    published = {"keys": [key.public_jwk()]}
    calls: list[float] = []
    clock = Clock()

    def source() -> dict[str, Any]:
        calls.append(clock.now)
        return published

    settings = EdgeAuthSettings(issuer=ISSUER, jwks_min_fetch_interval=5, unknown_kid_ttl=60)
    cache = JwksCache(settings, source, clock=clock)
    assert cache.refresh()
    verifier = Verifier(settings, cache)
    clock.now += 5
    for i in range(100):
        with pytest.raises(VerificationError) as info:
            verifier.verify(token(other, jti=f"r{i}"))
        assert info.value.reason == "unknown_kid"
    assert len(calls) == 2  # the explicit refresh plus one on-demand fetch for the flood
    # The issuer publishes the new key; after the negative entry and the interval pass, it is fetched once.
    published = {"keys": [key.public_jwk(), other.public_jwk()]}
    clock.now += 61
    assert verifier.verify(token(other)).subject == "svc"
    assert len(calls) == 3


def test_concurrent_unknown_kid_lookups_collapse_into_one_fetch(key: SigningKey) -> None:
    gate = threading.Event()
    calls: list[int] = []

    def source() -> dict[str, Any]:
        calls.append(1)
        gate.wait(2)
        return {"keys": [key.public_jwk()]}

    settings = EdgeAuthSettings(issuer=ISSUER, jwks_min_fetch_interval=0)
    cache = JwksCache(settings, source)
    results: list[str] = []

    def lookup() -> None:
        results.append(cache.get(key.kid).kid)

    threads = [threading.Thread(target=lookup) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join()
    assert results == [key.kid] * 8
    assert len(calls) == 1


def test_a_failing_jwks_source_keeps_the_last_keys_and_grows_staleness(key: SigningKey) -> None:
    clock = Clock()
    up = [True]

    def source() -> dict[str, Any]:
        if not up[0]:
            raise EdgeAuthError("issuer down")
        return {"keys": [key.public_jwk()]}

    settings = EdgeAuthSettings(issuer=ISSUER, max_staleness=30, jwks_refresh_interval=10)
    cache = JwksCache(settings, source, clock=clock)
    cache.refresh()
    verifier = Verifier(settings, cache)
    up[0] = False
    clock.now += 20
    assert not cache.refresh()
    assert verifier.verify(token(key)).subject == "svc"
    clock.now += 20
    assert cache.staleness() == pytest.approx(40)
    assert reason(verifier, token(key, jti="x")) == "stale"


def test_http_jwks_source_reads_a_served_document_and_reports_failures(key: SigningKey) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"keys": [key.public_jwk()]}).encode() if self.path == "/jwks.json" else b"nope"
            self.send_response(200 if self.path == "/jwks.json" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        settings = EdgeAuthSettings(issuer=ISSUER)
        cache = JwksCache(settings, http_jwks_source(f"{base}/jwks.json"))
        assert cache.staleness() == float("inf")
        assert cache.refresh()
        assert cache.kids == {key.kid}
        with pytest.raises(EdgeAuthError, match="cannot fetch JWKS"):
            http_jwks_source(f"{base}/missing")()
        assert not JwksCache(settings, http_jwks_source(f"{base}/missing")).refresh()
    finally:
        server.shutdown()
        server.server_close()


def test_a_request_without_a_bearer_token_is_a_recorded_refusal(key: SigningKey) -> None:
    verifier, _, sink = make(key)
    ctx = RequestContext(source_ip="10.1.1.1", method="GET", path="/x")
    for header in (None, "Basic dXNlcjpwYXNz"):
        with pytest.raises(VerificationError) as info:
            verifier.verify_authorization(header, context=ctx)
        assert info.value.reason == "missing_token"
    assert verifier.verify_authorization(f"Bearer {token(key)}", ["alerts:read"]).subject == "svc"
    assert verifier.decisions is not None
    verifier.decisions.flush()
    assert [(e.outcome, e.reason, e.source_ip) for e in sink.events] == [
        ("failure", "missing_token", "10.1.1.1"),
        ("failure", "missing_token", "10.1.1.1"),
        ("success", "ok", None),
    ]


def test_a_cached_token_dies_with_its_key(key: SigningKey) -> None:
    verifier, _, _ = make(key)
    tok = token(key, jti="withdrawn")
    assert verifier.verify(tok).token_id == "withdrawn"  # cached
    verifier.keys.replace({"keys": [SigningKey.generate().public_jwk()]})  # the key is withdrawn from the JWKS
    assert reason(verifier, tok) == "unknown_kid"
