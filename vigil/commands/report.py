"""`vigil report transparency`: one client's signed transparency report (docs/trust.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from compliance import ComplianceError
from compliance.transparency import ReportFormat, report_summary
from evidence import EvidenceError
from vigil.audit import command_audit
from vigil.commands.evidence import parse_moment
from vigil.compliance_runtime import build_transparency
from vigil.errors import VigilError
from vigil.settings import load_settings

app = typer.Typer(help="Reports for the platform's clients.", no_args_is_help=True)

FORMS: dict[str, ReportFormat] = {"zip": "zip", "json": "json", "html": "html", "pdf": "pdf"}


class ReportCommandError(VigilError):
    """A report could not be made; the message comes from the compliance (or evidence) package."""


@app.command()
def transparency(
    client: Annotated[str, typer.Option("--client", help="The client id the report is about.")],
    period_from: Annotated[str, typer.Option("--from", help="Start: a date (UTC) or RFC 3339 time, included.")],
    period_to: Annotated[str, typer.Option("--to", help="End: a date (that whole day included) or RFC 3339 time.")],
    out: Annotated[
        Path, typer.Option("--out", help="A folder (the report's own name inside it) or a file path.")
    ] = Path(),
    form: Annotated[str, typer.Option("--format", help="zip (the signed package), json, html or pdf.")] = "zip",
) -> None:
    """Build one client's transparency report for [from, to), write it, print its summary and digest."""
    chosen = FORMS.get(form)
    if chosen is None:
        raise ReportCommandError(f"--format {form!r}: choose one of {', '.join(FORMS)}")
    start, end = parse_moment(period_from, end_of_day=False), parse_moment(period_to, end_of_day=True)
    if end <= start:
        raise ReportCommandError("--to must be after --from")
    if not (out.is_dir() or out.parent.is_dir()):
        raise ReportCommandError(f"--out {out}: no such folder")
    settings = load_settings()
    try:
        with command_audit(settings) as audit:
            document = build_transparency(settings, audit).document(client, start, end, chosen, actor="vigil-cli")
    except (ComplianceError, EvidenceError) as exc:
        raise ReportCommandError(str(exc)) from None
    target = out / document.filename if out.is_dir() else out
    try:
        target.write_bytes(document.content)
    except OSError as exc:
        raise ReportCommandError(f"cannot write {target}: {exc.strerror}") from None
    typer.echo(report_summary(document.report))
    typer.echo(f"{target}\nsha256 {document.sha256}  {len(document.content)} bytes")
