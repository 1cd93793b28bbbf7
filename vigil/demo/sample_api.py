"""A small Rails-style API behind nginx for the demo: lograge JSON access lines and JSON exceptions.

It trusts the identity headers nginx copies from the edge verifier (`X-Auth-Subject`, `X-Auth-Client`) and
logs the way a Rails app with lograge and an error subscriber would, so the demo's logs look like production.
Some routes fail on purpose: an injection payload that reaches the "database" raises the error a real app
would, which is what the "payload reached the code" rule looks for.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

_INJECTION_MARKERS = ("'", "union select", "sleep(", "--")
_TRAVERSAL_MARKERS = ("../", "..%2f", "/etc/")
# Health checks and scrapes are not traffic: they stay out of the access log and the request metrics.
_PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


class AppError(Exception):
    """An exception as a Rails app names it (`error_type`), with the HTTP status it ends in."""

    def __init__(self, error_type: str, message: str, status: int, frames: list[str]) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.status = status
        self.frames = frames


class JsonLines:
    """Appends one JSON object per line; a lock keeps lines whole across threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")


ROUTES: dict[str, tuple[str, str]] = {
    "/api/orders": ("OrdersController", "index"),
    "/api/search": ("SearchController", "index"),
    "/api/files": ("FilesController", "show"),
    "/api/reports": ("ReportsController", "show"),
}


class SlowUpstream:
    """The demo's fault switch (a JSON file `{"clients": [...], "delay_ms": N}`): while it exists, requests of
    the listed clients (as the edge names them in `X-Auth-Client`) wait `delay_ms`, as if the upstream of their
    tier were slow. Read again only when the file changes, so the switch costs one `stat` per request."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: int | None = None
        self._clients: frozenset[str] = frozenset()
        self._delay = 0.0

    def delay_for(self, client: str | None) -> float:
        if self.path is None or client is None:
            return 0.0
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0.0
        if stamp != self._stamp:
            try:
                spec = json.loads(self.path.read_text(encoding="utf-8"))
                self._clients = frozenset(str(c) for c in spec.get("clients", []))
                self._delay = max(0.0, float(spec.get("delay_ms", 0))) / 1000
            except (OSError, ValueError, AttributeError):
                self._clients, self._delay = frozenset(), 0.0
            self._stamp = stamp
        return self._delay if client in self._clients else 0.0


def _controller(path: str) -> tuple[str, str]:
    for prefix, target in ROUTES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return target
    return ("ApplicationController", "not_found")


def create_sample_api(
    access_log: Path, exception_log: Path, service: str = "storefront", slow_upstream: Path | None = None
) -> FastAPI:
    app = FastAPI(title="storefront (demo)", docs_url=None, redoc_url=None, openapi_url=None)
    slow = SlowUpstream(slow_upstream)
    access = JsonLines(access_log)
    errors = JsonLines(exception_log)
    registry = CollectorRegistry(auto_describe=True)
    requests = Counter(
        "storefront_requests", "Requests by controller and status.", ["controller", "status"], registry=registry
    )
    exceptions = Counter("storefront_exceptions", "Exceptions by type.", ["type"], registry=registry)
    latency = Histogram("storefront_request_seconds", "Time spent in the app.", ["controller"], registry=registry)

    @app.middleware("http")
    async def lograge(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path in _PROBES:
            return await call_next(request)
        started = time.perf_counter()
        request_id = request.headers.get("x-request-id", "")
        controller, action = _controller(request.url.path)
        delay = slow.delay_for(request.headers.get("x-auth-client"))
        if delay:
            await asyncio.sleep(delay)
        try:
            response = await call_next(request)
            status = response.status_code
        except AppError as exc:
            status = exc.status
            exceptions.labels(exc.error_type).inc()
            errors.write(
                {
                    "@timestamp": datetime.now(UTC).isoformat(),
                    "service": service,
                    "level": "error",
                    "request_id": request_id,
                    "error": {"type": exc.error_type, "message": str(exc), "backtrace": exc.frames},
                }
            )
            response = JSONResponse({"error": "internal error", "request_id": request_id}, status_code=status)
        elapsed = time.perf_counter() - started
        requests.labels(controller, str(status)).inc()
        latency.labels(controller).observe(elapsed)
        access.write(
            {
                "@timestamp": datetime.now(UTC).isoformat(),
                "method": request.method,
                "path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
                "format": "json",
                "controller": controller,
                "action": action,
                "status": status,
                "duration": round(elapsed * 1000, 2),
                "request_id": request_id,
                "remote_ip": request.headers.get("x-real-ip", request.client.host if request.client else None),
                "user_agent": request.headers.get("user-agent"),
                "user": request.headers.get("x-auth-subject"),
                "service": service,
            }
        )
        return response

    @app.get("/healthz", include_in_schema=False)
    @app.get("/readyz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/orders")
    def orders(request: Request) -> dict[str, object]:
        return {"orders": [], "client": request.headers.get("x-auth-client")}

    @app.get("/api/orders/{order_id}")
    def order(order_id: str) -> Response:
        if not order_id.isdigit():
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse({"id": int(order_id), "status": "shipped"})

    @app.post("/api/orders", status_code=201)
    def create_order() -> dict[str, str]:
        return {"status": "created"}

    @app.get("/api/search")
    def search(q: str = "") -> dict[str, object]:
        if any(marker in q.lower() for marker in _INJECTION_MARKERS):
            raise AppError(
                "ActiveRecord::StatementInvalid",
                f'PG::SyntaxError: ERROR: syntax error at or near "{q[:40]}"',
                500,
                ["app/models/product.rb:42:in `search'", "app/controllers/search_controller.rb:7:in `index'"],
            )
        return {"results": [], "q": q}

    @app.get("/api/files")
    def files(name: str = "") -> dict[str, str]:
        if any(marker in name.lower() for marker in _TRAVERSAL_MARKERS):
            raise AppError(
                "Errno::ENOENT",
                f"No such file or directory @ rb_sysopen - {name[:60]}",
                500,
                ["app/controllers/files_controller.rb:12:in `show'"],
            )
        return {"name": name}

    @app.get("/api/reports/{report_id}")
    def report(report_id: str) -> dict[str, str]:
        if report_id.endswith("7"):
            raise AppError(
                "Net::ReadTimeout",
                "Net::ReadTimeout with #<TCPSocket:(closed)>",
                504,
                ["app/services/warehouse_client.rb:18:in `fetch'", "app/controllers/reports_controller.rb:9:in `show'"],
            )
        return {"id": report_id}

    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory`: log paths from the environment the demo sets."""
    slow = os.environ.get("VIGIL_DEMO_SLOW_UPSTREAM")
    return create_sample_api(
        Path(os.environ["VIGIL_DEMO_ACCESS_LOG"]),
        Path(os.environ["VIGIL_DEMO_EXCEPTION_LOG"]),
        slow_upstream=Path(slow) if slow else None,
    )
