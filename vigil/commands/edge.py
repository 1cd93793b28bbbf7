"""`vigil edge serve`: the standalone edge verifier (`GET /verify`) for nginx, Envoy or Traefik."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

app = typer.Typer(help="Run the edge token verifier.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind (loopback by default: put a proxy in front).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8081,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes; each keeps its own key and revocation copy.")
    ] = 1,
    backlog: Annotated[
        int, typer.Option(min=64, help="Listen backlog (raise it for many concurrent connections).")
    ] = 2048,
) -> None:
    """Serve `GET /verify`, `/healthz` and `/metrics` (settings from VIGIL_* variables)."""
    uvicorn.run(
        "vigil.edge:edge_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        backlog=backlog,
        log_level="warning",
        log_config=None,
        access_log=False,
    )
