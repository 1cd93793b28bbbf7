"""The one writer of docs/benchmarks.md: each benchmark owns the section between its two markers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


@dataclass
class Row:
    """One line of a benchmark table: ours against the baseline measured in the same run."""

    measure: str
    ours: str
    baseline: str
    ratio: str
    goal: str
    met: bool | None = None
    notes: str = ""


def table(rows: list[Row]) -> list[str]:
    """The Markdown table of `rows`; a missed goal is marked so it cannot be overlooked."""
    lines = ["| measure | ours | baseline (same run) | ratio | goal | met | notes |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "**MISSED**")
        lines.append(f"| {r.measure} | {r.ours} | {r.baseline} | {r.ratio} | {r.goal} | {met} | {r.notes} |")
    return lines


def write_section(name: str, body: str, docs: Path = DOCS) -> None:
    """Replace the `<!-- bench:NAME -->` section (appending it the first time), leaving the others untouched."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    section = f"{start}\n{body.strip(chr(10))}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    docs.write_text(text, encoding="utf-8")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
