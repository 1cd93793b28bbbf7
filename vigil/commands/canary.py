"""`vigil canary`: one run of the availability canary (beat runs it every `VIGIL_CANARY__INTERVAL_SECONDS`)."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.canary.runner import STEPS, CanaryError, run_canary
from vigil.settings import load_settings


def canary(as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False) -> None:
    """Token, storefront call through nginx and the edge, marker ingest; record availability evidence.

    Exits non-zero when a probe failed (an alert was raised too).
    """
    report = run_canary(load_settings())
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        latencies = ", ".join(
            f"{step} p50 {p50:.1f} ms" for step in STEPS[:3] if (p50 := report.percentile_ms(step, 0.5)) is not None
        )
        typer.echo(f"{sum(p.ok for p in report.probes)}/{len(report.probes)} probes ok; {latencies}")
        for failed in (p for p in report.probes if not p.ok):
            typer.echo(f"FAILED at {failed.failed_step}: {failed.detail}")
        if report.previous_marker_indexed is not None:
            typer.echo(f"previous marker indexed: {'yes' if report.previous_marker_indexed else 'NO'}")
    if report.success_rate < 1:
        raise CanaryError(f"{sum(not p.ok for p in report.probes)} probe(s) failed; an alert was raised")
