"""The three views the demo ends with: the edge, the analysts, the auditors; then the services' URLs."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from compliance.transparency import report_summary
from detections import Alert
from vigil.demo.story import DemoResult

_LEVELS = ("critical", "high", "medium", "low", "informational")
_EVENT_FIELDS = (
    "@timestamp", "event.dataset", "event.action", "event.reason", "source.ip", "url.original",
    "http.response.status_code", "http.request.id", "error.type", "error.message", "user_agent.original",
)  # fmt: skip


def _flat(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def edge_view(result: DemoResult) -> Table:
    table = Table(title="EDGE: requests verified and refused by reason (from the SIEM's auth events)")
    for column in ("outcome", "reason", "requests", "verifier p99"):
        table.add_column(column, justify="right" if column in ("requests", "verifier p99") else "left")
    for row in result.edge:
        p99 = "-" if row["p99_us"] is None else f"{row['p99_us']:.0f} µs"
        style = "green" if row["outcome"] == "success" else "red"
        table.add_row(f"[{style}]{row['outcome']}[/]", row["reason"], str(row["count"]), p99)
    traffic = result.traffic
    round_trip = traffic.p99_ms()
    statuses: Counter[int] = Counter()
    for (_, status), count in traffic.statuses.items():
        statuses[status] += count
    canaries = "; ".join(
        f"{r.definition.tier} {sum(p.ok for p in r.probes)}/{len(r.probes)} ok"
        + ("" if (p50 := r.percentile_ms("request", 50)) is None else f" p50 {p50:.1f} ms")
        for r in result.canary
    )
    table.caption = (
        f"canaries (token, storefront through nginx + edge, marker ingest; events and availability evidence): "
        f"{canaries}\n"
        f"{traffic.requests} requests sent ({traffic.tokens_issued} tokens issued, {traffic.transport_errors} "
        f"transport errors); round trip through nginx p99 {'-' if round_trip is None else f'{round_trip:.1f} ms'}; "
        f"statuses {', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()))}"
    )
    return table


def analyst_view(result: DemoResult) -> Table:
    table = Table(title="ANALYSTS: alerts by rule and severity (`vigil alerts list`)")
    for column in ("severity", "rule", "alerts", "matches", "grouped by"):
        table.add_column(column, justify="right" if column in ("alerts", "matches") else "left")
    by_rule: dict[tuple[int, str], list[Alert]] = {}
    for alert in result.alerts:
        by_rule.setdefault((_LEVELS.index(alert.level.value), alert.rule_title), []).append(alert)
    for (level, title), alerts in sorted(by_rule.items()):
        groups = [a.group_key for a in alerts]
        shown = ", ".join(groups[:2]) + (f" (+{len(groups) - 2})" if len(groups) > 2 else "")
        table.add_row(_LEVELS[level], title, str(len(alerts)), str(sum(a.count for a in alerts)), shown)
    levels = Counter(a.level.value for a in result.alerts)
    table.caption = f"{len(result.alerts)} alerts: " + ", ".join(f"{n} {lvl}" for lvl, n in levels.most_common())
    return table


def featured_view(result: DemoResult) -> Panel:
    alert = result.featured
    if alert is None:
        return Panel("no alert was raised", title="one alert in full")
    lines = [
        f"[bold]{alert.rule_title}[/]  ({alert.level.value}, rule {alert.rule_id})",
        f"id {alert.id}   group {alert.group_key}   count {alert.count}   status {alert.status.value}",
        f"first seen {alert.first_seen.isoformat()}   last seen {alert.last_seen.isoformat()}",
        f"ATT&CK {', '.join(alert.attack or alert.tags) or '-'}",
        alert.summary,
        "",
    ]
    for event in result.featured_events[:6]:
        flat = _flat(event)
        shown = {k: flat[k] for k in _EVENT_FIELDS if k in flat}
        lines.append(json.dumps(shown, ensure_ascii=False, default=str))
    lines.append(f"\n(triage: `vigil alerts show {alert.id}`, `vigil alerts ack {alert.id}`)")
    return Panel("\n".join(lines), title="ANALYSTS: one alert in full")


def auditor_view(result: DemoResult) -> Table:
    report = result.compliance
    table = Table(title="AUDITORS: compliance status (`vigil compliance status`)")
    for column in ("control", "framework", "verdict", "reason"):
        table.add_column(column)
    colours = {"pass": "green", "fail": "red"}
    for control in report.controls:
        verdict = control.outcome.value
        table.add_row(
            control.control_id, control.framework, f"[{colours.get(verdict, 'yellow')}]{verdict.upper()}[/]",
            control.reason,
        )  # fmt: skip
    verification = result.verification
    verdict = (
        f"[green]VERIFIED[/]: {verification.items} item(s), {verification.files_checked} files, signed by "
        f"{verification.kid}"
        if verification.ok
        else f"[red]REJECTED[/]: {'; '.join(verification.problems[:3])}"
    )
    table.caption = (
        f"{report.evidence_count} evidence items; bundle {result.bundle}\n{verdict} "
        f"(check it yourself: `vigil evidence verify {result.bundle}`)"
    )
    return table


def sla_view(result: DemoResult) -> Table:
    """Each tier's SLA over the demo period, from the canary evidence (what `availability.sla_attained` judged)."""
    table = Table(title="CLIENTS: SLA attainment per tier over the demo period (canary evidence)")
    for column in ("tier", "client(s)", "availability", "latency", "error budget", "verdict"):
        table.add_column(column)
    clients = {r.definition.tier: ", ".join(r.definition.clients) for r in result.canary}
    for sla in result.sla:
        tier = sla.tier or "-"
        availability = (
            "-"
            if sla.availability_percent is None
            else f"{sla.availability_percent:.2f}% (>= {sla.availability_objective_percent:g}%)"
        )
        latency = (
            "-"
            if sla.latency_percent is None
            else f"{sla.latency_percent:.0f}% <= {sla.latency_objective_ms:g} ms"
            f" (>= {sla.latency_objective_percentile:g}%)"
        )
        budget = "-" if sla.error_budget_consumed is None else f"{sla.error_budget_consumed * 100:.0f}% used"
        colour = {"met": "green", "missed": "red"}.get(sla.status, "yellow")
        table.add_row(tier, clients.get(tier, "-"), availability, latency, budget, f"[{colour}]{sla.status.upper()}[/]")
    misses = [f"{s.tier}: {'; '.join(s.misses())}" for s in result.sla if s.misses()]
    table.caption = f"{len(misses)} SLA finding(s)" + "".join(f"\n{m}" for m in misses)
    return table


def transparency_view(result: DemoResult) -> Table:
    """Each client's signed transparency report: its summary, where it was written, whether it verifies."""
    table = Table(title="CLIENTS: signed transparency reports (`vigil report transparency`)", show_header=False)
    for item in result.reports:
        check = item.verification
        verdict = (
            f"[green]VERIFIED[/]: {check.files_checked} files, signed by {check.kid}"
            if check.ok
            else f"[red]REJECTED[/]: {'; '.join(check.problems[:3])}"
        )
        table.add_row(
            escape(report_summary(item.report)),
            f"{item.path}\n{verdict}\n(check it yourself: `vigil evidence verify {item.path.name}`; docs/trust.md)",
        )
    table.caption = f"{len(result.reports)} client report(s); each names only its own client"
    return table


def render(result: DemoResult, console: Console) -> None:
    console.print()
    console.print(edge_view(result))
    console.print()
    console.print(analyst_view(result))
    console.print(featured_view(result))
    console.print()
    console.print(auditor_view(result))
    console.print()
    console.print(sla_view(result))
    console.print()
    console.print(transparency_view(result))
    console.print()
    services = Table(title="the services stay up (`vigil demo down` stops them)", show_header=False)
    for name, url in result.urls.items():
        services.add_row(name, url)
    console.print(services)
    console.print(f"demo finished in {result.seconds:.0f}s")


def summary(result: DemoResult) -> dict[str, Any]:
    """The three views as JSON (`vigil demo --summary FILE`), for scripts and the end-to-end test."""
    return {
        "seconds": round(result.seconds, 1),
        "traffic": {
            "requests": result.traffic.requests,
            "tokens_issued": result.traffic.tokens_issued,
            "transport_errors": result.traffic.transport_errors,
            "p99_ms": result.traffic.p99_ms(),
            "by_phase": {phase: dict(counts) for phase, counts in result.traffic.by_phase().items()},
        },
        "edge": result.edge,
        "alerts": [
            {"rule_id": a.rule_id, "rule": a.rule_title, "level": a.level.value, "group": a.group_key, "count": a.count}
            for a in result.alerts
        ],
        "featured_alert": result.featured.model_dump(mode="json") if result.featured else None,
        "compliance": [
            {"control": c.control_id, "framework": c.framework, "verdict": c.outcome.value, "reason": c.reason}
            for c in result.compliance.controls
        ],
        "canary": {
            "success_rate": sum(p.ok for r in result.canary for p in r.probes)
            / max(1, sum(len(r.probes) for r in result.canary)),
            "tiers": [
                {
                    "tier": r.definition.tier,
                    "clients": list(r.definition.clients),
                    "probes": [p.model_dump() for p in r.probes],
                }
                for r in result.canary
            ],
        },
        "sla": [s.model_dump(mode="json", exclude={"evidence"}) for s in result.sla],
        "bundle": {"path": str(result.bundle), "ok": result.verification.ok, **result.verification.model_dump()},
        "reports": [
            {
                "client": item.report.client,
                "path": str(item.path),
                "ok": item.verification.ok,
                "problems": item.verification.problems,
                "tiers": list(item.report.tiers),
                "sla": [{"tier": s.tier, "status": s.status, "misses": list(s.misses)} for s in item.report.sla],
                "findings": list(item.report.findings),
                "alerts": {s.level: s.alerts for s in item.report.incidents.by_severity},
            }
            for item in result.reports
        ],
        "urls": result.urls,
    }
