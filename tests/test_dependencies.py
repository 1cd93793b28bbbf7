"""What the product imports is declared, and what is declared is pinned with hashes in both lock files.

Data-driven over the real imports of every product package and the real `pyproject.toml`: an import of a package
nobody declared (it arrived through another one's dependencies) or a declared dependency missing from a lock
(someone forgot `make lock`) fails with the names to fix.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("edgeauth", "siem", "detections", "compliance", "evidence", "vigil")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return normalised(match.group(0))


def pinned(lock: str) -> dict[str, str]:
    """name -> the line pinning it; every pin must carry at least one hash."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    pins = {}
    for block in re.split(r"\n(?=\S)", text):
        head = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==\S+", block)
        if head:
            assert "--hash=sha256:" in block, f"{lock}: {head.group(0)} has no hash"
            pins[normalised(head.group(1))] = head.group(0)
    return pins


def imported_top_levels() -> dict[str, set[str]]:
    """Third-party top-level module -> the product files importing it."""
    found: dict[str, set[str]] = {}
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in OURS:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_declared() -> None:
    declared = {requirement_name(r) for r in PYPROJECT["project"]["dependencies"]}
    providers = packages_distributions()
    undeclared = []
    for module, files in sorted(imported_top_levels().items()):
        dists = {normalised(d) for d in providers.get(module, [])}
        assert dists, f"{module} (imported by {sorted(files)[0]}) is not installed"
        if not dists & declared:
            undeclared.append(f"{module} ({'/'.join(sorted(dists))}, imported by {sorted(files)[0]})")
    assert not undeclared, f"imported but not in [project] dependencies: {undeclared}"


def test_every_declared_dependency_is_pinned_in_the_locks() -> None:
    runtime = {requirement_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = {requirement_name(r) for group in PYPROJECT["project"]["optional-dependencies"].values() for r in group}
    lock, dev_lock = pinned("requirements.lock"), pinned("requirements-dev.lock")
    missing = sorted(runtime - set(lock)) + sorted(f"{n} (dev lock)" for n in (runtime | extras) - set(dev_lock))
    assert not missing, f"declared but not locked, run `make lock`: {missing}"
    differ = sorted(f"{lock[n]} vs {dev_lock[n]}" for n in set(lock) & set(dev_lock) if lock[n] != dev_lock[n])
    assert not differ, f"the two locks pin different versions: {differ}"
