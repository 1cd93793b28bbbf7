"""The standalone edge verifier process (`vigil edge serve`): edgeauth's bare ASGI `EdgeApp`, its decisions
shipped to siem's stream.

It keeps local copies of the JWKS and revocations (refreshed in the background) and hands every decision to
siem's queue through edgeauth's bounded buffer, whose drain thread serialises and ships batches. It imports
only what that needs: edgeauth's verifier, siem's stream writer (the same entries the ingest API writes, so the
workers cannot tell them apart) and the settings models; never the app, FastAPI, Celery or Elasticsearch's
client (`tests/vigil/test_edge_process.py` holds it to that).
"""

from __future__ import annotations

from edgeauth.edge.asgi import EdgeApp
from edgeauth.edge.runtime import EdgeRuntime
from siem.inputs.decisions import AuthDecisionSink
from siem.stream import EventStream
from vigil.clients import redis_client
from vigil.observability import configure_logging
from vigil.settings import VigilSettings, load_settings


def create_edge_app(settings: VigilSettings | None = None) -> EdgeApp:
    """`/verify`, `/healthz` (503 once keys or revocations are stale), `/readyz` and `/metrics`."""
    settings = settings or load_settings()
    redis = redis_client(settings)
    sink = AuthDecisionSink(EventStream(redis, settings.siem))
    return EdgeApp(EdgeRuntime(settings.edgeauth, redis, sink))


def edge_app_from_environment() -> EdgeApp:
    """Factory for `vigil edge serve`: JSON logs (warnings and up), then the edge verifier app."""
    configure_logging("WARNING")
    return create_edge_app()
