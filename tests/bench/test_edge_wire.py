"""The edge wire benchmark without its peer: rows say so, the suite does not fail (no Go on the machine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.edge_wire import QUICK_PLAN, Figures, Tail, _rows
from bench.load import LoadResult
from bench.tools import OAUTH2_PROXY, ensure


def _result(rps: float) -> LoadResult:
    return LoadResult(rps, 2.0, 9.0, int(rps * 3), 0, 0, 80.0, 40.0)


def test_without_go_the_peer_is_not_built_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `go` on it
    assert ensure(OAUTH2_PROXY, tmp_path) == (None, "Go is not installed")


def test_a_cached_tool_is_used_without_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = OAUTH2_PROXY.binary(tmp_path)
    binary.parent.mkdir(parents=True)
    binary.write_text("")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ensure(OAUTH2_PROXY, tmp_path) == (binary, "cached")


def test_rows_without_the_peer_are_marked_not_run_and_leave_its_goals_open() -> None:
    ours = ("vigil-hit-64", "vigil-hit-256", "bare-256", "vigil-miss-64", "vigil-miss-256", "vigil1-hit-256")
    figures = Figures({key: [_result(1000.0), _result(1200.0)] for key in ours})
    tail = Tail(_result(500.0), _result(500.0), None, "wrk paced by delay(), 64 conns")
    rows = _rows(
        figures, tail, _result(100.0), 1.0, {"vigil": 80.0, "vigil-1": 60.0}, 2, "Go is not installed", "-", QUICK_PLAN
    )
    peer_rows = [r for r in rows if "oauth2-proxy" in r.goal or r.goal in (">= 1.5x", ">= 1.0x", "<= 2x")]
    assert peer_rows
    assert all(r.met is None and r.baseline == "peer not run: Go is not installed" for r in peer_rows)
    # Our own goals are still judged.
    bare = next(r for r in rows if r.measure.startswith("GET /verify vs a bare 200"))
    assert bare.met is True
