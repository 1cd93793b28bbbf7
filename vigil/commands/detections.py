"""`vigil rules list|check|convert|test|enable|disable` and `vigil alerts list|show|ack|resolve`."""

from __future__ import annotations

import getpass
import json
import sys
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from elasticsearch import Elasticsearch

from detections import (
    Alert,
    AlertFilter,
    AlertPage,
    AlertStatus,
    DetectionsError,
    HuntJob,
    HuntRequest,
    Level,
    Verdict,
    corpus_report,
    load_rules,
    self_test,
)
from vigil import indices
from vigil.audit import command_audit
from vigil.clients import elasticsearch_client, redis_client
from vigil.commands.remote import RemoteFlag, remote_api
from vigil.detections_runtime import build_detections, detections_settings
from vigil.settings import VigilSettings, load_settings

rules_app = typer.Typer(help="Sigma rules: list, validate, convert and test them.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts: list, show and triage them.", no_args_is_help=True)

Paths = Annotated[list[Path] | None, typer.Argument(help="Extra rule files or folders (besides the configured ones).")]


def _actor(actor: str | None) -> str:
    return actor or f"cli:{getpass.getuser()}"


@rules_app.command("list")
def rules_list(
    all_rules: Annotated[bool, typer.Option("--all", help="Also rules that only feed a correlation.")] = False,
) -> None:
    """The loaded rules: id, kind, level, enabled, blind, title."""
    det = build_detections(load_settings())
    for rule in det.rules():
        if rule.standalone or all_rules:
            flags = ("on " if rule.enabled else "off") + (" BLIND" if rule.blind else "")
            typer.echo(f"{rule.id}  {rule.kind:<11} {rule.level.value:<13} {flags:<9} {rule.title}")


@rules_app.command("check")
def rules_check(
    paths: Paths = None,
    run: Annotated[bool, typer.Option(help="Also run every converted query against Elasticsearch.")] = False,
    warnings: Annotated[bool, typer.Option(help="Print SigmaHQ validator warnings too.")] = False,
) -> None:
    """Load and validate rules; every problem is one line. Exit 1 if a rule is rejected."""
    settings = load_settings()
    dsettings = detections_settings(settings)
    if run:
        report = corpus_report([*dsettings.rule_paths, *(paths or [])], dsettings, elasticsearch_client(settings))
        for entry in report.entries:
            if entry.status != "ran":
                typer.echo(f"{entry.status}: {entry.source}: {entry.reason}")
        typer.echo(report.summary())
        if any(e.status != "ran" for e in report.entries):
            raise DetectionsError("some rules do not run; see the lines above")
        return
    ruleset = load_rules(dsettings, list(paths or []))
    for finding in ruleset.findings:
        if finding.severity == "error" or warnings:
            typer.echo(str(finding))
    typer.echo(f"{len(ruleset.rules)} rules loaded, {len(ruleset.errors)} rejected")
    if ruleset.errors:
        raise DetectionsError(f"{len(ruleset.errors)} rule(s) rejected; see the lines above")


@rules_app.command("convert")
def rules_convert(paths: Paths = None) -> None:
    """Print the Lucene query of each rule (several for a correlation, one per referenced rule)."""
    ruleset = load_rules(detections_settings(load_settings()), list(paths or []))
    for rule in ruleset.rules.values():
        for query in rule.info.queries:
            typer.echo(f"{rule.id}\t{rule.info.title}\t{query}")
    for finding in ruleset.errors:
        typer.echo(str(finding), err=True)


@rules_app.command("test")
def rules_test(paths: Paths = None) -> None:
    """Send a generated matching event per rule through the real ingest (scratch prefix) and expect its alert."""
    settings = load_settings()
    ruleset = load_rules(detections_settings(settings), list(paths or []))
    es = elasticsearch_client(settings)
    results = self_test(
        ruleset,
        detections_settings(settings),
        es,
        redis_client(settings),
        prepare=lambda scratch: _apply_scratch(es, settings, scratch),
    )
    for result in results:
        typer.echo(
            f"{result.outcome:<13} {result.rule_id}  {result.title}" + (f" ({result.reason})" if result.reason else "")
        )
    silent = [r for r in results if r.outcome == "silent"]
    typer.echo(
        f"{sum(r.outcome == 'alerted' for r in results)} alerted, {len(silent)} silent, "
        f"{sum(r.outcome == 'not_generated' for r in results)} not generated"
    )
    if silent:
        raise DetectionsError(f"{len(silent)} rule(s) did not alert on their own event")


def _set_enabled(rule_id: str, enabled: bool, actor: str | None) -> None:
    settings = load_settings()
    with command_audit(settings) as audit:
        rule = build_detections(settings, audit).set_enabled(rule_id, enabled, _actor(actor))
    typer.echo(f"{rule.id} {'enabled' if rule.enabled else 'disabled'}: {rule.title}")


@rules_app.command("enable")
def rules_enable(rule_id: str, actor: Annotated[str | None, typer.Option()] = None) -> None:
    """Enable a rule (by id or name)."""
    _set_enabled(rule_id, True, actor)


@rules_app.command("disable")
def rules_disable(rule_id: str, actor: Annotated[str | None, typer.Option()] = None) -> None:
    """Disable a rule (by id or name)."""
    _set_enabled(rule_id, False, actor)


@alerts_app.command("list")
def alerts_list(
    status: Annotated[list[AlertStatus] | None, typer.Option(help="Repeatable.")] = None,
    level: Annotated[list[Level] | None, typer.Option(help="Repeatable.")] = None,
    rule: Annotated[str | None, typer.Option(help="Rule id.")] = None,
    since: Annotated[datetime | None, typer.Option(help="Last seen at or after (ISO 8601).")] = None,
    text: Annotated[str | None, typer.Option("--text", "-q", help="Words in title, summary or group.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    remote: Annotated[bool, RemoteFlag] = False,
) -> None:
    """Alerts, newest activity first."""
    flt = AlertFilter(status=status or [], level=level or [], rule_id=rule, since=since, text=text, limit=limit)
    if remote:
        query = {
            "status": [s.value for s in flt.status],
            "level": [lv.value for lv in flt.level],
            "rule_id": flt.rule_id,
            "since": flt.since.isoformat() if flt.since else None,
            "q": flt.text,
            "limit": str(flt.limit),
        }
        with remote_api() as api:
            body = api.json("GET", "/detections/alerts", params={k: v for k, v in query.items() if v})
        page = AlertPage.model_validate(body)
    else:
        page = build_detections(load_settings()).alerts(flt)
    for a in page.alerts:
        typer.echo(
            f"{a.id}  {a.status.value:<12} {a.level.value:<8} {a.count:>5}  {a.last_seen:%Y-%m-%d %H:%M:%S}  "
            f"{a.rule_title} [{a.group_key}]"
        )
    typer.echo(f"{len(page.alerts)} of {page.total}")


@alerts_app.command("show")
def alerts_show(alert_id: str, remote: Annotated[bool, RemoteFlag] = False) -> None:
    """One alert as JSON: fields, matched events, transitions and notes."""
    if remote:
        with remote_api() as api:
            body = api.json("GET", f"/detections/alerts/{quote(alert_id, safe='')}")
        typer.echo(json.dumps(body, indent=2))
        return
    det = build_detections(load_settings())
    alert = det.alert(alert_id)
    typer.echo(
        json.dumps({"alert": alert.model_dump(mode="json"), "events": det.alert_events(alert)}, indent=2, default=str)
    )


@alerts_app.command("ack")
def alerts_ack(
    alert_ids: Annotated[list[str], typer.Argument(help="One or more alert ids.")],
    note: Annotated[str | None, typer.Option()] = None,
    actor: Annotated[str | None, typer.Option(help="Who acts (local only; remote: the signed-in person).")] = None,
    remote: Annotated[bool, RemoteFlag] = False,
) -> None:
    """Acknowledge alerts (new -> acknowledged)."""
    if remote:
        with remote_api() as api:
            results = api.json("POST", "/detections/alerts/acknowledge", body={"ids": alert_ids, "note": note})[
                "results"
            ]
    else:
        settings = load_settings()
        with command_audit(settings) as audit:
            results = build_detections(settings, audit).bulk_acknowledge(alert_ids, _actor(actor), note)
    for alert_id, outcome in results.items():
        typer.echo(f"{alert_id}: {outcome}")
    if any(o != "acknowledged" for o in results.values()):
        raise DetectionsError("some alerts were not acknowledged; see the lines above")


@alerts_app.command("resolve")
def alerts_resolve(
    alert_id: str,
    verdict: Annotated[Verdict, typer.Option(help="true_positive, false_positive or benign.")],
    note: Annotated[str | None, typer.Option()] = None,
    actor: Annotated[str | None, typer.Option(help="Who acts (local only; remote: the signed-in person).")] = None,
    remote: Annotated[bool, RemoteFlag] = False,
) -> None:
    """Resolve an alert with a verdict."""
    if remote:
        with remote_api() as api:
            body = api.json(
                "POST",
                f"/detections/alerts/{quote(alert_id, safe='')}/resolve",
                body={"verdict": verdict.value, "note": note},
            )
        alert = Alert.model_validate(body)
    else:
        settings = load_settings()
        with command_audit(settings) as audit:
            alert = build_detections(settings, audit).resolve(alert_id, _actor(actor), verdict, note=note)
    typer.echo(f"{alert.id}: resolved ({alert.verdict.value if alert.verdict else '-'})")


def _apply_scratch(es: Elasticsearch, settings: VigilSettings, scratch: str) -> None:
    indices.apply(es, settings.in_namespace(scratch), owners=["siem", "detections"])


detections_app = typer.Typer(help="Run rules over data already ingested (retro-hunts).", no_args_is_help=True)


class _Bar:
    """A progress bar on stderr that learns its length from the hunt's first progress report."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.bar: Any = None
        self.shown = 0

    def __call__(self, job: HuntJob) -> None:
        if self.bar is None:
            self.bar = self.stack.enter_context(
                typer.progressbar(length=max(job.windows_total, 1), label="hunting", file=sys.stderr)
            )
        self.bar.update(job.windows_done - self.shown)
        self.shown = job.windows_done


@detections_app.command("run")
def detections_run(
    from_: Annotated[str, typer.Option("--from", help="ISO 8601 or now-7d, ... (by @timestamp).")],
    to: Annotated[str, typer.Option("--to", help="ISO 8601 or now[-N(s|m|h|d|w)].")] = "now",
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Rule id or name (repeatable; default all).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count per rule and group; write no alert.")] = False,
    actor: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Run rules over [from, to) in bounded windows; matches become alerts tagged as hunt results."""
    det = build_detections(load_settings())
    request = HuntRequest(start=from_, end=to, rules=list(rule or []), dry_run=dry_run)
    with ExitStack() as stack:
        job = det.hunt(request, _actor(actor), progress=_Bar(stack))
    typer.echo(
        f"hunt {job.id}: {len(job.results)} rule(s), {job.windows_total} window(s) "
        f"{job.start.isoformat()} to {job.end.isoformat()} in {job.seconds:.1f} s{' (dry run)' if dry_run else ''}"
    )
    for result in job.results:
        written = "" if dry_run else f"  alerts {result.alerts_changed}  already alerted {result.already_alerted}"
        typer.echo(f"{result.rule_id}  hits {result.hits}  groups {result.groups}{written}  {result.title}")
        if dry_run:
            for group, count in result.by_group.items():
                typer.echo(f"    {count:>8}  {group}")
        for error in result.errors:
            typer.echo(f"    error: {error}")
    failed = [r.rule_id for r in job.results if r.errors]
    if failed:
        raise DetectionsError(f"{len(failed)} rule(s) failed in some windows; see the lines above")
