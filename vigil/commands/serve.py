"""`vigil serve`: the assembled Vigil app (issuer, ingest, analyst, auditor and compliance APIs, console)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn


def serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="Log level of the JSON logs.")] = "info",
) -> None:
    """Serve every Vigil API with `/healthz`, `/readyz` and `/metrics` (settings from VIGIL_* variables).

    Logs are JSON lines on stderr carrying the request id (`X-Request-ID`), the same id nginx and the edge log.
    uvicorn's `X-Forwarded-For` rewrite stays off, as in `vigil edge serve`: it would let any loopback peer name the
    client before edgeauth's `TRUSTED_PROXIES` rule (the throttle, the guard, decision events) sees the request.
    """
    uvicorn.run(
        "vigil.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        log_level=log_level.lower(),
        proxy_headers=False,
    )
