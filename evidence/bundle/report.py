"""The human report (HTML) and the machine index (CSV) of a bundle, written row by row to spool files."""

from __future__ import annotations

import csv
import html
from typing import IO, Any

INDEX_COLUMNS = (
    "sequence",
    "path",
    "record",
    "sha256",
    "size",
    "media_type",
    "collector",
    "collector_version",
    "source_system",
    "effective_at",
    "collected_at",
    "fresh_until",
    "stale",
    "control_ids",
    "query",
    "parameters_json",
    "entry_hash",
)


class IndexWriter:
    def __init__(self, out: IO[str]) -> None:
        self._csv = csv.writer(out, lineterminator="\n")
        self._csv.writerow(INDEX_COLUMNS)

    def row(self, values: dict[str, Any]) -> None:
        self._csv.writerow([values[c] for c in INDEX_COLUMNS])


_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence bundle {period}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:90%}}
td,th{{border:1px solid #999;padding:2px 6px;text-align:left;vertical-align:top}}.stale{{background:#fdd}}
code{{word-break:break-all}}</style></head><body>
<h1>Evidence bundle</h1>
<p>Period {period} (effective time, end exclusive); controls: {controls}.</p>
<table><thead><tr><th>#</th><th>file</th><th>controls</th><th>collector</th><th>source</th><th>effective</th>
<th>collected</th><th>status</th><th>SHA-256</th><th>query</th></tr></thead><tbody>
"""

_FOOT = """</tbody></table>
<h2>Summary</h2>
<ul><li>{items} item(s), {stale} stale as of the period end, sequences {first}..{last} of the locker chain.</li>
<li>Chain head of the range: <code>{head}</code></li>
<li>Signed with Ed25519 key <code>{kid}</code>; verify with docs/evidence-format.md.</li></ul>
</body></html>
"""


class ReportWriter:
    def __init__(self, out: IO[str], period: str, controls: list[str]) -> None:
        self._out = out
        out.write(_HEAD.format(period=html.escape(period), controls=html.escape(", ".join(controls) or "all")))

    def row(self, v: dict[str, Any]) -> None:
        status = "STALE" if v["stale"] else "fresh"
        cells = [
            str(v["sequence"]),
            f"<code>{html.escape(v['path'])}</code>",
            html.escape(v["control_ids"]),
            html.escape(f"{v['collector']} {v['collector_version']}"),
            html.escape(v["source_system"]),
            html.escape(v["effective_at"]),
            html.escape(v["collected_at"]),
            status,
            f"<code>{v['sha256']}</code>",
            f"<code>{html.escape(v['query'])}</code>",
        ]
        css = ' class="stale"' if v["stale"] else ""
        self._out.write(f"<tr{css}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>\n")

    def close(self, *, items: int, stale: int, first: int, last: int, head: str, kid: str) -> None:
        self._out.write(_FOOT.format(items=items, stale=stale, first=first, last=last, head=head, kid=kid))
