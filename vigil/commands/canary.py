"""`vigil canary run | tiers | burn`: the per-tier canaries (beat runs each tier at its own interval)."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.canary.burn import evaluate_burn
from vigil.canary.runner import CanaryError, CanaryReport, run_canary
from vigil.canary.tiers import load_definitions, select
from vigil.settings import load_settings

app = typer.Typer(help="Canaries per SLA tier: live dummy clients through nginx and the edge.", no_args_is_help=True)

Tier = Annotated[str | None, typer.Option("--tier", help="Only this tier (default: every defined tier).")]


def _line(report: CanaryReport) -> str:
    ok = sum(p.ok for p in report.probes)
    latencies = ", ".join(
        f"{kind} p50 {p50:.1f} ms"
        for kind in ("token", "request", "ingest")
        if (p50 := report.percentile_ms(kind, 50)) is not None
    )
    return f"{report.definition.tier} ({report.definition.name}): {ok}/{len(report.probes)} probes ok; {latencies}"


@app.command("run")
def run(
    tier: Tier = None, as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False
) -> None:
    """Token as the tier's client, its endpoints through nginx and the edge, marker ingest; events and evidence.

    Exits non-zero when a probe failed (an alert was raised too).
    """
    reports = run_canary(load_settings(), tier)
    if as_json:
        typer.echo("[" + ",".join(r.model_dump_json() for r in reports) + "]")
    else:
        for report in reports:
            typer.echo(_line(report))
            for failure in (f for p in report.probes if (f := p.failure) is not None):
                typer.echo(f"  FAILED at {failure}")
            if report.previous_marker_indexed is not None:
                typer.echo(f"  previous marker indexed: {'yes' if report.previous_marker_indexed else 'NO'}")
    failed = sum(not p.ok for r in reports for p in r.probes)
    if failed:
        raise CanaryError(f"{failed} probe(s) failed; an alert was raised")


@app.command("tiers")
def tiers() -> None:
    """The canary definitions in force (validated), one line per tier."""
    for d in load_definitions(load_settings().canary):
        typer.echo(
            f"{d.tier}: canary {d.name} as {d.client_id} for {', '.join(d.clients)}; {', '.join(d.endpoints)} every "
            f"{d.interval_seconds}s x{d.probes}; {d.objectives.describe()}"
        )


@app.command("burn")
def burn(tier: Tier = None) -> None:
    """Burn rates of every tier now, per indicator and window condition (from the canary events)."""
    settings = load_settings()
    for b in evaluate_burn(settings, select(load_definitions(settings.canary), tier)):
        mark = "FIRING" if b.firing else "ok"
        typer.echo(
            f"{b.tier} {b.indicator} {b.window}: {b.long_rate:.2f}x / {b.short_rate:.2f}x"
            f" (threshold {b.factor:g}x) {mark}"
        )
