"""sigma-cli speaks Vigil: the `vigil_ecs` pipeline plugin, run by the real `sigma` command from the same venv,
turns every rule of the shared corpus into exactly the query the detections engine runs, and refuses the same rules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from detections import DetectionsSettings, load_rules
from tests.detections.test_corpus import CORPUS

SIGMA = Path(sys.executable).with_name("sigma")


def sigma(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SIGMA), *args], capture_output=True, text=True, check=False, timeout=300)


def test_sigma_list_pipelines_names_vigil_ecs() -> None:
    listed = sigma("list", "pipelines")
    assert listed.returncode == 0, listed.stderr
    row = next((line for line in listed.stdout.splitlines() if "| vigil_ecs " in line), None)
    assert row is not None, listed.stdout
    assert "Vigil ECS" in row


def test_sigma_convert_gives_the_engines_query_for_every_corpus_rule(tmp_path: Path) -> None:
    out = tmp_path / "converted"
    converted = sigma(
        "convert",
        "-t",
        "lucene",
        "-p",
        "vigil_ecs",
        "--skip-unsupported",
        "-od",
        str(out),
        "-ot",
        "{path}/{stem}-{index}.txt",
        str(CORPUS),
    )
    assert converted.returncode == 0, converted.stderr
    parts: dict[str, list[tuple[str, str]]] = {}
    for file in out.rglob("*.txt"):
        stem, index = str(file.relative_to(out).with_suffix("")).rsplit("-", 1)
        parts.setdefault(stem, []).append((index, file.read_text(encoding="utf-8").strip()))
    # The engine ORs the queries of a rule that converts to several (`detections.conversion.lucene.to_lucene`).
    by_cli = {
        stem: queries[0][1] if len(queries) == 1 else " OR ".join(f"({q})" for _, q in sorted(queries))
        for stem, queries in parts.items()
    }

    ruleset = load_rules(DetectionsSettings(namespace="sigmacli", include_bundled=False, rule_paths=[CORPUS]))
    by_engine = {
        str(Path(rule.info.source).relative_to(CORPUS).with_suffix("")): rule.query
        for rule in ruleset.rules.values()
        if rule.query is not None
    }
    assert len(by_engine) >= 90, f"the engine converted only {len(by_engine)} corpus rules"
    only_cli, only_engine = sorted(set(by_cli) - set(by_engine)), sorted(set(by_engine) - set(by_cli))
    assert not only_cli, f"sigma-cli converts rules the engine refuses: {only_cli}"
    assert not only_engine, f"the engine runs rules sigma-cli refuses: {only_engine}\n{converted.stderr[-2000:]}"
    differ = {stem: (by_cli[stem], by_engine[stem]) for stem in by_engine if by_cli[stem] != by_engine[stem]}
    assert not differ, f"{len(differ)} rule(s) convert differently (cli, engine): {differ}"
