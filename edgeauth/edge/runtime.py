"""Assembly of a running edge verifier: JWKS copy, revocation replica and decision buffer, started together."""

from __future__ import annotations

import redis
from prometheus_client import Gauge

from edgeauth.decisions import DecisionBuffer, DecisionSink
from edgeauth.edge.jwks import JwksCache, http_jwks_source
from edgeauth.edge.verifier import Verifier
from edgeauth.keystore import KeyStore
from edgeauth.revocation import RevocationReplica
from edgeauth.settings import EdgeAuthSettings

STALENESS = Gauge(
    "edgeauth_state_staleness_seconds",
    "Age of the verifier's keys or revocations, whichever is older (+Inf: never loaded)",
)


class EdgeRuntime:
    """A verifier with its background parts; `start()` before serving, `stop()` on shutdown."""

    def __init__(self, settings: EdgeAuthSettings, redis_client: redis.Redis, sink: DecisionSink | None = None) -> None:
        source = (
            http_jwks_source(settings.jwks_url) if settings.jwks_url else KeyStore(redis_client, settings).jwks_source()
        )
        self.keys = JwksCache(settings, source)
        # Key changes arrive on the revocation stream: the JWKS is refetched at once, not at the next refresh.
        self.revocations = RevocationReplica(
            redis_client, settings, on_keys_changed=lambda: self.keys.refresh("pushed")
        )
        self.decisions = DecisionBuffer(
            sink, capacity=settings.decision_buffer_size, batch_size=settings.decision_batch_size
        )
        self.verifier = Verifier(settings, self.keys, revocations=self.revocations, decisions=self.decisions)

    def start(self) -> None:
        # One runtime per serving process: its staleness is the process's gauge.
        STALENESS.set_function(self.verifier.state_staleness)
        self.decisions.start()
        self.keys.start()
        self.revocations.start()

    def stop(self) -> None:
        self.revocations.stop()
        self.keys.stop()
        self.decisions.stop()
