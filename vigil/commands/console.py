"""`vigil console register`: the console's and the CLI's clients at Vigil's own issuer."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.audit import actor_name, command_audit
from vigil.console.registration import register_first_party
from vigil.settings import load_settings

app = typer.Typer(help="The people-facing console.", no_args_is_help=True)


@app.command()
def register(
    actor: Annotated[str | None, typer.Option(help="Who registers (audit trail); default: login name.")] = None,
) -> None:
    """Register the console (confidential) and `vigil login` (public) as first-party clients; safe to run again.

    The console's client secret is kept sealed in Redis for the app to read; it is never printed.
    """
    settings = load_settings()
    with command_audit(settings) as audit:
        done = register_first_party(settings, actor=actor_name(actor), audit=audit)
    for item in done:
        typer.echo(f"{item.client_id}: {item.outcome}")
