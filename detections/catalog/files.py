"""Finding rule files: the bundled folder first, then every path the user names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from detections.models import Finding

RULE_SUFFIXES = (".yml", ".yaml")


def rule_files(roots: list[Path], findings: list[Finding]) -> Iterator[Path]:
    """Every rule file under `roots` in a stable order; a missing root becomes an error finding."""
    seen: set[Path] = set()
    for root in roots:
        if root.is_file():
            candidates = [root]
        elif root.is_dir():
            candidates = sorted(p for p in root.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
        else:
            findings.append(
                Finding(source=str(root), severity="error", code="missing_path", message="no such file or folder")
            )
            continue
        for path in candidates:
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield path
