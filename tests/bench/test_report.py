from __future__ import annotations

from pathlib import Path

from bench.report import Row, percentile, table, write_section


def test_sections_are_replaced_in_place_and_others_kept(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    write_section("a", "| first |", docs)
    write_section("b", "| other |", docs)
    write_section("a", "| second |", docs)
    text = docs.read_text()
    assert text.startswith("# Benchmarks\n")
    assert "| first |" not in text
    assert text.index("<!-- bench:a -->\n| second |\n<!-- /bench:a -->") < text.index("<!-- bench:b -->")
    assert text.count("<!-- bench:") == 2


def test_percentile_is_nearest_rank() -> None:
    sample = [float(v) for v in range(1, 101)]
    assert percentile(sample, 0.5) == 51.0
    assert percentile(sample, 0.99) == 99.0
    assert percentile([3.0], 0.95) == 3.0


def test_a_missed_goal_is_marked_in_the_table() -> None:
    lines = table([Row("verify", "1", "2", "0.5x", ">= 1x", met=False), Row("rss", "9", "", "", "(reported)")])
    assert lines[2].endswith("| >= 1x | **MISSED** |  |")
    assert lines[3].endswith("| (reported) | - |  |")
