"""`vigil services up | down | status [--json]`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from vigil import services as local_services
from vigil.errors import ServiceError
from vigil.services import ServiceStatus
from vigil.settings import load_settings

app = typer.Typer(help="Start, stop and inspect Elasticsearch and Redis.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def render(statuses: list[ServiceStatus], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([s.model_dump() for s in statuses], indent=2))
        return
    for s in statuses:
        mark = "ok " if s.healthy else "DOWN"
        version = s.version or "-"
        pid = f" pid={s.pid}" if s.pid else ""
        typer.echo(f"[{mark}] {s.name:<14} {s.health:<7} {version:<8} {s.mode:<8} {s.address}{pid} {s.detail}")


@app.command()
def up(as_json: JsonFlag = False) -> None:
    """Start the local services that are not running (idempotent)."""
    render(local_services.up(load_settings()), as_json)


@app.command()
def down() -> None:
    """Stop the services this project started (external servers are left alone)."""
    local_services.down(load_settings())
    typer.echo("stopped")


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Health, version, address and mode of each service; exit 1 when one is unhealthy."""
    statuses = local_services.status(load_settings())
    render(statuses, as_json)
    unhealthy = [s.name for s in statuses if not s.healthy]
    if unhealthy:
        raise ServiceError(f"unhealthy: {', '.join(unhealthy)} (run `vigil services up`)")
