"""`vigil demo`: the main job. Until the end-to-end story lands it brings the services up and reports them."""

from __future__ import annotations

import typer

from vigil import services as local_services
from vigil.commands.services import render
from vigil.settings import load_settings

app = typer.Typer(help="Run the demo.", invoke_without_command=True)


@app.callback()
def demo() -> None:
    """Start every service and print its health and version."""
    statuses = local_services.up(load_settings())
    render(statuses, as_json=False)
