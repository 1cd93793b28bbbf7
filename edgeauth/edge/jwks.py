"""The verifier's local copy of the issuer's JWKS.

Lookups never leave the process. The set is refreshed in the background and, for an unknown `kid`, on demand:
concurrent refetches collapse into one (single flight), unknown kids are cached negatively, and on-demand
fetches are rate limited so a flood of random kids costs the issuer at most one request per interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter

from edgeauth.background import BackgroundLoop
from edgeauth.errors import EdgeAuthError, UnknownKeyId
from edgeauth.keys import VerificationKey, load_jwks
from edgeauth.settings import EdgeAuthSettings

log = logging.getLogger(__name__)

JWKS_FETCHES = Counter("edgeauth_jwks_fetches", "JWKS fetches by the verifier", ["trigger", "result"])

JwksSource = Callable[[], dict[str, Any]]
_NEGATIVE_LIMIT = 10_000


def http_jwks_source(url: str, timeout: float = 2.0) -> JwksSource:
    """Fetch a JWKS document over HTTP(S); any failure is an `EdgeAuthError`."""

    # Imported on first use: an edge reading the key store in Redis never needs an HTTP client, and httpx
    # brings click, rich and pygments along (about 10 MiB per edge process).
    import httpx

    def fetch() -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=timeout, follow_redirects=False)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise EdgeAuthError(f"cannot fetch JWKS from {url}: {exc}") from exc
        if not isinstance(document, dict):
            raise EdgeAuthError(f"JWKS at {url} is not a JSON object")
        return document

    return fetch


class JwksCache:
    """Keys by kid. With no `source` the set is static (tests, or keys handed in by the caller)."""

    def __init__(
        self,
        settings: EdgeAuthSettings,
        source: JwksSource | None = None,
        *,
        initial: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._source = source
        self._clock = clock
        self._keys: dict[str, VerificationKey] = load_jwks(initial) if initial else {}
        self._unknown: dict[str, float] = {}
        self._fetch_lock = threading.Lock()
        self._last_attempt = float("-inf")
        self._generation = 0
        # A sourced set with nothing fetched yet is unconfirmed (infinitely stale) until its first fetch.
        self._last_success = clock() if initial is not None or source is None else float("-inf")
        self._loop = BackgroundLoop("edgeauth-jwks", self._background, first_delay=settings.jwks_refresh_interval)

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def has(self, kid: str) -> bool:
        return kid in self._keys

    def staleness(self) -> float:
        """Seconds since the key set was last confirmed (0 for a static set)."""
        if self._source is None:
            return 0.0
        return max(0.0, self._clock() - self._last_success)

    def get(self, kid: str) -> VerificationKey:
        key = self._keys.get(kid)
        if key is not None:
            return key
        now = self._clock()
        if self._unknown.get(kid, float("-inf")) > now:
            raise UnknownKeyId("no key with this kid")
        if self._source is not None and now - self._last_attempt >= self._settings.jwks_min_fetch_interval:
            self._refresh_single_flight("unknown_kid", seen=self._generation)
            key = self._keys.get(kid)
            if key is not None:
                return key
        if len(self._unknown) >= _NEGATIVE_LIMIT:
            self._unknown.clear()
        self._unknown[kid] = self._clock() + self._settings.unknown_kid_ttl
        raise UnknownKeyId("no key with this kid")

    def refresh(self, trigger: str = "manual") -> bool:
        """Fetch the set now; True when it was replaced. A failure keeps the last known keys."""
        return self._refresh_single_flight(trigger, seen=None)

    def replace(self, jwks: dict[str, Any]) -> None:
        self._keys = load_jwks(jwks)
        self._unknown = {}
        self._last_success = self._clock()

    def _refresh_single_flight(self, trigger: str, seen: int | None) -> bool:
        if self._source is None:
            return False
        with self._fetch_lock:
            if seen is not None and self._generation != seen:
                return True  # a fetch completed while we waited for the lock: use its result
            self._last_attempt = self._clock()
            try:
                document = self._source()
            except EdgeAuthError as exc:
                JWKS_FETCHES.labels(trigger, "error").inc()
                log.warning("JWKS refresh failed, keeping %d known keys: %s", len(self._keys), exc)
                return False
            finally:
                self._generation += 1
            self.replace(document)
            JWKS_FETCHES.labels(trigger, "ok").inc()
            return True

    def start(self) -> None:
        if self._source is None or self._loop.running:
            return
        self.refresh("startup")
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _background(self) -> float:
        self.refresh("background")
        return self._settings.jwks_refresh_interval
