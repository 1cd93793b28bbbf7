"""Stacked bar charts as inline SVG, rendered on the server (no script, no external library).

Each chart is an `<svg role="img">` with a title and description; the page also shows the same numbers in a
table, so the chart is never the only way to read them.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from siem import TimeSeries

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 40, 12, 36

# Severity colours ordered like the levels; chosen for contrast on white and distinguishable without red/green.
LEVEL_COLOURS = {
    "informational": "#6b7280",
    "low": "#2563eb",
    "medium": "#a16207",
    "high": "#c2410c",
    "critical": "#7f1d1d",
}
PALETTE = ("#1d4ed8", "#047857", "#7c3aed", "#b45309", "#be123c", "#0f766e", "#4b5563")


def colours(names: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, name in enumerate(names):
        out[name] = LEVEL_COLOURS.get(name, PALETTE[i % len(PALETTE)])
    return out


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at least `value` (axis maximum)."""
    if value <= 0:
        return 1
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def stacked_bars(series: TimeSeries, *, title: str, order: list[str] | None = None) -> Markup:
    names = [n for n in (order or []) if n in series.counts] + sorted(
        n for n in series.counts if n not in (order or [])
    )
    palette = colours(names)
    n = len(series.buckets)
    totals = [sum(series.counts[name][i] for name in names) for i in range(n)]
    top = nice_ceiling(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(n, 1)
    bar_w = max(1.0, slot * 0.8)
    summary = ", ".join(f"{name} {sum(series.counts[name])}" for name in names) or "no data"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="t-{id(series)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="t-{id(series)}">{escape(title)}: {escape(summary)}</title>'
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d1d5db"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#374151">'
            f"{top * fraction:g}</text>"
        )
    for i in range(n):
        x = LEFT + slot * i + (slot - bar_w) / 2
        base = float(TOP + plot_h)
        for name in names:
            value = series.counts[name][i]
            if not value:
                continue
            h = plot_h * value / top
            base -= h
            label = f"{series.buckets[i]:%Y-%m-%d %H:%M} UTC: {name} {value}"
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{palette[name]}"><title>{escape(label)}</title></rect>'
            )
    for i in range(0, n, max(1, n // 6)):
        x = LEFT + slot * i + slot / 2
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" fill="#374151">'
            f"{series.buckets[i]:%m-%d %H:%M}</text>"
        )
    legend_x = LEFT
    for name in names:
        parts.append(
            f'<rect x="{legend_x}" y="{HEIGHT - 12}" width="10" height="10" fill="{palette[name]}"/>'
            f'<text x="{legend_x + 14}" y="{HEIGHT - 3}" font-size="11" fill="#111827">{escape(name)}</text>'
        )
        legend_x += 24 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text above is escaped, the rest numeric
