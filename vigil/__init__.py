"""vigil: the composition root. Settings, the CLI, app and worker assembly, local services, demo and canaries.

Nothing domain-specific lives here: each capability is a package of its own (`edgeauth`, `siem`, `detections`,
`evidence`, `compliance`) and `vigil` wires them together from one `VigilSettings`.

The names below load on first use: a process that needs one module (the edge server's supervisor, the edge
verifier) must not import every package's settings with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigil.errors import VigilError
    from vigil.settings import VigilSettings, load_settings

__all__ = ["VigilError", "VigilSettings", "load_settings"]


def __getattr__(name: str) -> Any:
    if name == "VigilError":
        from vigil.errors import VigilError

        return VigilError
    if name in ("VigilSettings", "load_settings"):
        from vigil import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'vigil' has no attribute {name!r}")
