"""App assembly: one FastAPI application per Vigil role, built from settings.

Each package hands over its routers; nothing here is domain logic.
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from vigil import services as local_services
from vigil.observability import RequestIdMiddleware
from vigil.settings import VigilSettings


def create_app(settings: VigilSettings) -> FastAPI:
    app = FastAPI(title="Vigil", version="0.1.0")
    app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(response: Response) -> dict[str, object]:
        statuses = local_services.status(settings)
        ready = all(s.healthy for s in statuses)
        response.status_code = 200 if ready else 503
        return {"ready": ready, "services": {s.name: s.health for s in statuses}}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
