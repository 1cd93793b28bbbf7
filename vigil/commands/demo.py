"""`vigil demo` (the whole story on the real local services) and `vigil demo down`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vigil import services as local_services
from vigil.demo import story
from vigil.demo.config import DemoConfig
from vigil.demo.views import render, summary
from vigil.errors import ServiceError
from vigil.settings import load_settings

app = typer.Typer(help="Run the demo: services, a compressed day with attacks, and what each user sees.")


@app.callback(invoke_without_command=True)
def demo(
    ctx: typer.Context,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the demo namespace's indices, queues, keys and logs first.")
    ] = False,
    users: Annotated[int, typer.Option(min=10, max=200_000, help="Simulated end users.")] = 2000,
    clients: Annotated[int, typer.Option(min=3, max=500, help="Storefront client applications.")] = 40,
    requests_per_user: Annotated[int, typer.Option(min=1, max=100)] = 2,
    concurrency: Annotated[int, typer.Option(min=1, max=512, help="Requests in flight.")] = 32,
    port_offset: Annotated[
        int, typer.Option(min=0, max=50_000, help="Added to the ports 8000 (app), 8080 (nginx), 8081, 8082.")
    ] = 0,
    summary_file: Annotated[
        Path | None, typer.Option("--summary", help="Also write the three views as JSON to this file.")
    ] = None,
) -> None:
    """Start everything, play a compressed day with an attack storyline, print the edge, analyst and auditor views.

    The services stay up afterwards; `vigil demo down` stops them.
    """
    if ctx.invoked_subcommand is not None:
        return
    console = Console()
    unhealthy = [s.name for s in local_services.up(load_settings()) if not s.healthy]
    if unhealthy:
        raise ServiceError(f"not healthy: {', '.join(unhealthy)}; see `vigil services status`")
    config = DemoConfig(
        users=users,
        clients=clients,
        requests_per_user=requests_per_user,
        concurrency=concurrency,
        port_offset=port_offset,
    )
    result = story.run(config, wipe=reset, console=console)
    render(result, console)
    if summary_file is not None:
        try:
            summary_file.write_text(json.dumps(summary(result), indent=2, default=str) + "\n", encoding="utf-8")
        except OSError as exc:
            raise ServiceError(f"cannot write --summary {summary_file}: {exc.strerror}") from None


@app.command()
def down() -> None:
    """Stop every process the demo started (the data stays; `vigil demo --reset` removes it)."""
    stopped = story.down()
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
