"""Finding a JDK new enough for the pinned Elasticsearch or Keycloak."""

from __future__ import annotations

import os
import re
from pathlib import Path

from vigil.errors import JavaNotFoundError

JVM_ROOT = Path("/usr/lib/jvm")


def java_major(home: Path) -> int | None:
    """The major version of the JDK at `home`, read from its `release` file."""
    try:
        release = (home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', release, re.MULTILINE)
    if not match or not (home / "bin" / "java").exists():
        return None
    return int(match.group(1))


def find_java(
    minimum: int, configured: Path | None = None, jvm_root: Path = JVM_ROOT, product: str = "Elasticsearch"
) -> Path:
    """`VIGIL_JAVA_HOME`, then `JAVA_HOME`, then the newest JDK under /usr/lib/jvm, whichever is new enough."""
    candidates: list[Path] = []
    if configured is not None:
        candidates.append(configured)
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    if jvm_root.is_dir():
        found = [(java_major(p) or 0, p) for p in jvm_root.iterdir() if p.is_dir() and not p.is_symlink()]
        candidates.extend(p for _, p in sorted(found, reverse=True))
    for home in candidates:
        major = java_major(home)
        if major is not None and major >= minimum:
            return home
    raise JavaNotFoundError(
        f"{product} needs Java {minimum}+ and none was found (looked at VIGIL_JAVA_HOME, JAVA_HOME, "
        f"{jvm_root}); install one, e.g. `apt-get install temurin-{max(minimum, 21)}-jdk`, or set VIGIL_JAVA_HOME"
    )
