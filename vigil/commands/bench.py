"""`vigil bench [edgeauth|issuer|siem|detections|evidence|cluster|shippers|drill|all]`: each benchmark beside its
same-run baseline (the failure drill instead reports losses and recovery times).

Each benchmark is a module `bench/<name>.py` that measures ours and its baseline back to back and writes its own
section of docs/benchmarks.md; this command runs them one at a time (each in a fresh process, so one's memory and
threads never colour the next) and prints the resulting table. Benchmarks are not in the wheel: the command runs
from a checkout, where it also rewrites docs/benchmarks.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from vigil.errors import VigilError


class Suite(StrEnum):
    edgeauth = "edgeauth"
    issuer = "issuer"
    siem = "siem"
    detections = "detections"
    evidence = "evidence"
    cluster = "cluster"
    shippers = "shippers"
    drill = "drill"
    all = "all"


class BenchmarkError(VigilError):
    """A benchmark failed to run (its own output says why)."""


def run(
    suite: Annotated[Suite, typer.Argument(help="Which benchmark to run.")] = Suite.all,
    quick: Annotated[bool, typer.Option(help="Smaller workloads for a smoke run (figures not for docs).")] = False,
) -> None:
    """Run benchmarks; each writes its table (ratios against its same-run baseline) to docs/benchmarks.md."""
    if not Path("bench/report.py").is_file():
        raise BenchmarkError("run `vigil bench` from the root of a Vigil checkout (benchmarks are not installed)")
    names = [s.value for s in Suite if s is not Suite.all] if suite is Suite.all else [suite.value]
    env = {**os.environ, "VIGIL_BENCH_QUICK": "1" if quick else ""}
    failed: list[str] = []
    for name in names:
        typer.echo(f"== bench {name} (cores: {os.cpu_count()})", err=True)
        proc = subprocess.run([sys.executable, "-m", f"bench.{name}"], env=env, check=False)
        if proc.returncode != 0:
            failed.append(name)
    table = Path("docs/benchmarks.md")
    if table.exists():
        typer.echo(table.read_text(encoding="utf-8"))
    if failed:
        raise BenchmarkError(f"benchmark(s) failed: {', '.join(failed)}; their output above says why")
