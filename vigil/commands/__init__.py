"""The `vigil` command line: one typer app, one module per command group.

Every `VigilError` (and each package's own error root) ends as one line on stderr and a non-zero exit code;
`VIGIL_DEBUG=1` shows the traceback instead.
"""

from __future__ import annotations

import os
import sys

import typer

from vigil.commands import bench, demo, services
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
app.command(name="bench")(bench.run)


def main() -> None:
    try:
        app()
    except VigilError as exc:
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
