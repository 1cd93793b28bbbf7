"""`vigil events search QUERY --from --to [--field F ...] [--json | --ndjson | --csv]`: the analyst's event search.

The same service call as `GET /detections/events`, so the same limits apply and the search is audited with the
CLI user (`cli:<login>`) as the actor.
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from detections import DEFAULT_EVENT_FIELDS, EventSearch, parse_time_range
from vigil.detections_runtime import build_detections
from vigil.settings import load_settings

app = typer.Typer(help="Search the ingested events (Lucene, by @timestamp).", no_args_is_help=True)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


@app.command("search")
def search(
    query: Annotated[
        str, typer.Argument(help="Lucene, e.g. 'source.ip:\"10.0.0.9\" AND url.original.caseless:*union*'")
    ],
    from_: Annotated[str, typer.Option("--from", help="ISO 8601 or now-15m, now-7d, ...")] = "now-15m",
    to: Annotated[str, typer.Option("--to", help="ISO 8601 or now[-N(s|m|h|d|w)].")] = "now",
    field: Annotated[list[str] | None, typer.Option("--field", "-f", help="A column (repeatable).")] = None,
    dataset: Annotated[list[str] | None, typer.Option(help="access, exception or auth (repeatable).")] = None,
    size: Annotated[int, typer.Option(min=1, help="Events per page.")] = 50,
    after: Annotated[str | None, typer.Option(help="The `next` cursor of the previous page.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The page as one JSON document.")] = False,
    ndjson: Annotated[bool, typer.Option("--ndjson", help="Export every match, one JSON line each.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Export every match as CSV.")] = False,
    actor: Annotated[str | None, typer.Option(help="Audited actor (default cli:<login>).")] = None,
) -> None:
    """Events matching QUERY, newest first, with the exact total and counts per dataset."""
    start, end = parse_time_range(from_, to, datetime.now(UTC))
    request = EventSearch(
        query=query,
        start=start,
        end=end,
        fields=list(field or DEFAULT_EVENT_FIELDS),
        datasets=list(dataset or []),
        size=size,
        after=after,
    )
    det = build_detections(load_settings())
    who = actor or f"cli:{getpass.getuser()}"
    if ndjson or as_csv:
        _, lines = det.export_events(request, "csv" if as_csv else "ndjson", who)
        for line in lines:
            typer.echo(line, nl=False)
        return
    page = det.search_events(request, who)
    if as_json:
        typer.echo(json.dumps(page.model_dump(mode="json"), indent=2, default=str))
        return
    typer.echo("\t".join(page.fields))
    for row in page.events:
        typer.echo("\t".join(_cell(row.get(f)) for f in page.fields))
    counts = ", ".join(f"{name} {count}" for name, count in sorted(page.datasets.items())) or "none"
    typer.echo(f"{len(page.events)} of {page.total} events ({counts}) in {page.took_ms} ms")
    if page.next:
        typer.echo(f"next page: --after {page.next}")
