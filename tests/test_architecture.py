"""The dependency direction of ARCHITECTURE.md, enforced."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("edgeauth", "siem", "detections", "compliance", "evidence", "vigil")


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_domain_packages_use_each_others_public_api_only() -> None:
    """Outside `vigil`, another package of ours is imported by its top-level name, never a private module."""
    offenders: list[str] = []
    for package in PACKAGES:
        if package == "vigil":
            continue
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _imports(path):
                top, _, rest = name.partition(".")
                if top in PACKAGES and top != package and rest:
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, "\n".join(offenders)
