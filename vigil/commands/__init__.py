"""The `vigil` command line: one typer app, one module per command group.

Every `VigilError` (and each package's own error root) ends as one line on stderr and a non-zero exit code;
`VIGIL_DEBUG=1` shows the traceback instead.
"""

from __future__ import annotations

import os
import sys

import typer

from detections import DetectionsError
from edgeauth import EdgeAuthError
from edgeauth.people import PeopleError
from siem import SiemError
from vigil.commands import (
    bench,
    canary,
    clients,
    compliance,
    console,
    demo,
    detections,
    edge,
    events,
    evidence,
    keys,
    report,
    serve,
    services,
    siem,
    signin,
    users,
)
from vigil.errors import VigilError

app = typer.Typer(
    name="vigil",
    help="Vigil: edge token verification, SIEM ingestion, detections and compliance evidence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(services.app, name="services")
app.add_typer(demo.app, name="demo")
app.add_typer(evidence.app, name="evidence")
app.add_typer(compliance.app, name="compliance")
app.add_typer(report.app, name="report")
app.add_typer(clients.app, name="clients")
app.add_typer(users.app, name="users")
app.add_typer(keys.app, name="keys")
app.add_typer(edge.app, name="edge")
app.command(name="bench")(bench.run)
app.command(name="serve")(serve.serve)
app.add_typer(canary.app, name="canary")
app.command(name="worker")(siem.worker)
app.command(name="beat")(siem.beat)
app.add_typer(siem.pipeline_app, name="pipeline")
app.add_typer(siem.dlq_app, name="dlq")
app.add_typer(siem.ingest_app, name="ingest")
app.add_typer(detections.rules_app, name="rules")
app.add_typer(detections.alerts_app, name="alerts")
app.add_typer(events.app, name="events")
app.add_typer(detections.detections_app, name="detections")
app.add_typer(console.app, name="console")
app.command(name="login")(signin.login_command)
app.command(name="logout")(signin.logout_command)
app.command(name="whoami")(signin.whoami_command)


def main() -> None:
    try:
        app()
    except (VigilError, EdgeAuthError, PeopleError, SiemError, DetectionsError) as exc:
        print(f"vigil: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("vigil: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("VIGIL_DEBUG"):
            raise
        print(
            f"vigil: error: unexpected {type(exc).__name__}: {exc} (VIGIL_DEBUG=1 shows the traceback)", file=sys.stderr
        )
        sys.exit(1)
