"""`vigil compliance catalog | collect | status | history | oscal | publish`: controls checked from evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from compliance import CollectionReport, Compliance, ComplianceError, Period, StatusReport, load_catalog
from evidence import EvidenceError
from vigil.audit import command_audit
from vigil.commands.evidence import parse_moment
from vigil.commands.remote import RemoteFlag, remote_api
from vigil.compliance_runtime import build_compliance
from vigil.errors import VigilError
from vigil.settings import load_settings

app = typer.Typer(help="SOC 2 / ISO 27001 controls checked continuously from evidence.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
FromOption = Annotated[str | None, typer.Option("--from", help="Period start: YYYY-MM-DD (UTC) or RFC 3339.")]
ToOption = Annotated[str | None, typer.Option("--to", help="Period end (a date includes that whole day).")]


class ComplianceCommandError(VigilError):
    """A compliance command failed; the message comes from the compliance (or evidence) package."""


@contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except (ComplianceError, EvidenceError) as exc:
        raise ComplianceCommandError(str(exc)) from None


def _service() -> Compliance:
    return build_compliance(load_settings())


def _period(start: str | None, end: str | None) -> Period:
    if start is None or end is None:
        raise ComplianceCommandError("give both --from and --to")
    begin, finish = parse_moment(start, end_of_day=False), parse_moment(end, end_of_day=True)
    if finish <= begin:
        raise ComplianceCommandError("--to must be after --from")
    return Period(start=begin, end=finish)


def render_table(report: StatusReport) -> str:
    lines = [
        f"period {report.period.start.isoformat()} .. {report.period.end.isoformat()}"
        f"  evaluated {report.evaluated_at.isoformat()}  evidence items {report.evidence_count}",
        f"{'CONTROL':<8} {'FRAMEWORK':<9} {'VERDICT':<14} REASON",
    ]
    lines.extend(
        f"{c.control_id:<8} {c.framework:<9} {c.outcome.value.upper():<14} {c.reason}" for c in report.controls
    )
    counts = {o: sum(1 for c in report.controls if c.outcome.value == o) for o in ("pass", "fail", "not-applicable")}
    lines.append(", ".join(f"{n} {o}" for o, n in counts.items()))
    return "\n".join(lines)


def _print_collection(report: CollectionReport, as_json: bool) -> None:
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    for c in report.collected:
        typer.echo(f"collected {c.collector:<24} evidence {c.sequence} sha256 {c.sha256}")
    for s in report.skipped:
        typer.echo(f"skipped   {s.collector:<24} {s.reason}")
    for f in report.failed:
        typer.echo(f"FAILED    {f.collector:<24} {f.reason}")


@app.command()
def catalog(as_json: JsonFlag = False) -> None:
    """The controls in scope, their summaries and the checks that evidence them."""
    with _one_line():
        controls = load_catalog().in_scope(load_settings().compliance.scope)
    if as_json:
        typer.echo(json.dumps([c.model_dump(mode="json") for c in controls], indent=2))
        return
    for c in controls:
        typer.echo(f"{c.id:<8} {c.framework:<9} {c.summary}\n{'':<18} checks: {', '.join(c.checks)}")


@app.command()
def collect(
    only: Annotated[list[str] | None, typer.Option("--only", help="Run just this collector (repeatable).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run every collector the scope needs once and append what they read to the evidence locker."""
    with _one_line():
        report = _service().collect(only=tuple(only or ()))
    _print_collection(report, as_json)
    if report.failed:
        raise ComplianceCommandError(f"{len(report.failed)} collector(s) failed; see above")


@app.command()
def status(
    start: FromOption = None,
    end: ToOption = None,
    collect_first: Annotated[bool, typer.Option("--collect", help="Collect evidence before evaluating.")] = False,
    as_json: JsonFlag = False,
    remote: Annotated[bool, RemoteFlag] = False,
) -> None:
    """Print every control in scope with its verdict and reason.

    Without a period: collect (with --collect), evaluate the trailing status window, store it and raise alerts
    for controls that started failing. With --from/--to: evaluate that period's evidence only (no side effects).
    """
    period = None if start is None and end is None else _period(start, end)
    if remote:
        if collect_first:
            raise ComplianceCommandError("--collect runs collectors on this machine; it does not go with --remote")
        query = {"from": period.start.isoformat(), "to": period.end.isoformat()} if period else None
        with remote_api() as api:
            report = StatusReport.model_validate(api.json("GET", "/compliance/status", params=query))
        typer.echo(report.model_dump_json(indent=2) if as_json else render_table(report))
        return
    settings = load_settings()
    with _one_line(), command_audit(settings) as audit:
        service = build_compliance(settings, audit)
        if collect_first:
            _print_collection(service.collect(), as_json=False)
        report = service.evaluate(period) if period else service.refresh().report
    typer.echo(report.model_dump_json(indent=2) if as_json else render_table(report))


@app.command()
def history(start: FromOption = None, end: ToOption = None, as_json: JsonFlag = False) -> None:
    """Every stored evaluation in the period, oldest first (one line each, or JSON)."""
    period = _period(start, end)
    with _one_line():
        reports = _service().history(period)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in reports], indent=2))
        return
    for r in reports:
        failing = [c.control_id for c in r.controls if c.outcome.value == "fail"]
        typer.echo(f"{r.evaluated_at.isoformat()} failing: {', '.join(failing) or 'none'}")


@app.command()
def oscal(
    start: FromOption = None,
    end: ToOption = None,
    out: Annotated[Path | None, typer.Option(help="Write the document here instead of stdout.")] = None,
) -> None:
    """OSCAL assessment-results JSON for the period."""
    period = _period(start, end)
    with _one_line():
        document = json.dumps(_service().oscal(period), indent=2, sort_keys=True)
    if out is None:
        typer.echo(document)
        return
    try:
        out.write_text(document + "\n", encoding="utf-8")
    except OSError as exc:
        raise ComplianceCommandError(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(f"wrote {out}")


@app.command()
def publish(
    start: FromOption = None,
    end: ToOption = None,
    days: Annotated[int, typer.Option(min=1, max=366, help="Without --from/--to: the last N days up to now.")] = 1,
) -> None:
    """Append the period's status history and OSCAL export to the locker, so evidence bundles carry them."""
    if start is None and end is None:
        now = datetime.now(UTC)
        period = Period(start=now - timedelta(days=days), end=now)
    else:
        period = _period(start, end)
    with _one_line():
        published = _service().publish(period)
    typer.echo(
        f"published status history (evidence {published.status_history}, {published.evaluations} evaluation(s))"
        f" and OSCAL (evidence {published.oscal}) for {period.start.isoformat()} .. {period.end.isoformat()}"
    )
