"""No page of the app loads code from a third party: FastAPI's /docs and /redoc (Swagger UI and ReDoc from a CDN)
are off; the OpenAPI schema itself is still served."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from vigil.app import create_app
from vigil.edge import create_edge_app
from vigil.settings import VigilSettings

pytestmark = pytest.mark.integration


def test_no_cdn_docs_pages(settings: VigilSettings, redis_namespace: str) -> None:
    scoped = settings.in_namespace(redis_namespace)
    app = TestClient(create_app(scoped))
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        page = app.get(path)
        # 404, or 405 where another route's pattern (an Elasticsearch-compatible `HEAD /{index}`) claims the path.
        assert page.status_code in (404, 405), path
        assert "swagger" not in page.text.lower()
        assert "redoc" not in page.text.lower()
    schema = app.get("/openapi.json")
    assert schema.status_code == 200
    assert "/detections/alerts" in schema.json()["paths"]
    edge_app = TestClient(create_edge_app(scoped))
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert edge_app.get(path).status_code == 404, path
