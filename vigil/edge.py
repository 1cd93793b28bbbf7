"""The standalone edge verifier process (`vigil edge serve`): edgeauth's bare ASGI `EdgeApp`, its decisions
shipped to siem's stream.

It keeps local copies of the JWKS and revocations (refreshed in the background) and hands every decision to
siem's queue through edgeauth's bounded buffer, whose drain thread serialises and ships batches.
"""

from __future__ import annotations

from edgeauth.edge import EdgeApp, EdgeRuntime
from siem import Pipeline
from siem.inputs.decisions import AuthDecisionSink
from vigil.clients import elasticsearch_client, redis_client
from vigil.observability import configure_logging
from vigil.settings import VigilSettings, load_settings


def create_edge_app(settings: VigilSettings | None = None) -> EdgeApp:
    """`/verify`, `/healthz` (503 once keys or revocations are stale), `/readyz` and `/metrics`."""
    settings = settings or load_settings()
    redis = redis_client(settings)
    sink = AuthDecisionSink(Pipeline(elasticsearch_client(settings), redis, settings.siem))
    return EdgeApp(EdgeRuntime(settings.edgeauth, redis, sink))


def edge_app_from_environment() -> EdgeApp:
    """Factory for `vigil edge serve`: JSON logs (warnings and up), then the edge verifier app."""
    configure_logging("WARNING")
    return create_edge_app()
