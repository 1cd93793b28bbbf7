"""`vigil edge serve`: the standalone edge verifier (`GET /verify`) for nginx, Envoy or Traefik."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from vigil.edgeserver import DEFAULT_APP, default_workers, exec_server

app = typer.Typer(help="Run the edge token verifier.", no_args_is_help=True)


class Server(StrEnum):
    uvicorn = "uvicorn"
    granian = "granian"


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind (loopback by default: put a proxy in front).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8081,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=256,
            help="Processes sharing the port (SO_REUSEPORT), each with its own key and revocation copy "
            "[default: one per core this process may use].",
            show_default=False,
        ),
    ] = None,
    backlog: Annotated[
        int, typer.Option(min=64, help="Listen backlog per process (raise it for many concurrent connections).")
    ] = 2048,
    server: Annotated[
        Server,
        typer.Option(
            help="uvicorn (uvloop + httptools, SO_REUSEPORT workers; least memory) or granian (needs "
            "`pip install granian`; less CPU per request in our benchmark, more memory)."
        ),
    ] = Server.uvicorn,
) -> None:
    """Serve `GET /verify`, `/healthz`, `/readyz` and `/metrics` (settings from VIGIL_* variables)."""
    exec_server(DEFAULT_APP, host, port, workers or default_workers(), backlog, server.value)
