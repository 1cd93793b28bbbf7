"""The report's three forms: canonical JSON (RFC 8785, the signed truth), HTML from one jinja2 template, and PDF
rendered by WeasyPrint from that same HTML, so the page a customer reads and the PDF they file say the same.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from compliance.errors import ReportRenderError
from compliance.transparency.models import TransparencyReport
from evidence import canonical_json

TEMPLATES = Path(__file__).resolve().parent / "templates"


def report_json(report: TransparencyReport) -> bytes:
    return canonical_json(report.model_dump(mode="json"))


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _percent(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}%"


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["duration"] = _duration
    env.filters["percent"] = _percent
    return env


def report_html(report: TransparencyReport, *, kid: str | None = None, json_sha256: str | None = None) -> str:
    """The report for people; `kid` and `json_sha256` (when signed) tell the reader what to verify against."""
    return _environment().get_template("report.html").render(report=report, kid=kid, json_sha256=json_sha256)


def report_pdf(html: str) -> bytes:
    """The HTML, paginated (A4, header and page numbers from the template's print styles)."""
    from weasyprint import HTML  # imported on use: loading pango and fonts costs a second a process never needs

    try:
        pdf = HTML(string=html).write_pdf()
    except Exception as exc:  # the renderer's errors have no common root; name it rather than crash the request
        raise ReportRenderError(f"the PDF renderer failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(pdf, bytes):
        raise ReportRenderError("the PDF renderer returned no document")
    return pdf


def report_summary(report: TransparencyReport) -> str:
    """Who, when, SLA per tier, alerts per severity and the findings, as lines of text (the CLI and the demo)."""
    lines = [
        f"client {report.client}  {report.period.start.isoformat()} .. {report.period.end.isoformat()}"
        f"  tiers {', '.join(report.tiers) or 'none'}"
    ]
    for line in report.sla:
        figures = ", ".join(f"{o.name} {o.attained} ({o.promised})" for o in line.objectives)
        lines.append(f"  SLA {line.tier:<10} {line.status.upper():<8} {figures}")
    counts = ", ".join(f"{s.alerts} {s.level}" for s in report.incidents.by_severity if s.alerts) or "none"
    lines.append(f"  alerts: {counts}")
    failing = sum(1 for c in report.controls if c.outcome.value == "fail")
    lines.append(f"  controls: {len(report.controls) - failing} not failing, {failing} failing")
    lines.append(f"  findings ({len(report.findings)}):")
    lines.extend(f"    - {finding}" for finding in report.findings)
    return "\n".join(lines)
