"""The console: web pages for people, composed from the packages' public APIs.

Analysts triage alerts and watch rules; auditors read control status and download evidence bundles. Sign-in is a
pasted edgeauth access token kept in an HttpOnly cookie and re-verified on every request.

Names load on first use: `vigil.settings` needs only `ConsoleSettings`, not the pages.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigil.console.errors import ConsoleError
    from vigil.console.http import install_console
    from vigil.console.settings import ConsoleSettings

__all__ = ["ConsoleError", "ConsoleSettings", "install_console"]

# name -> (module, name there)
_MODULES = {
    "ConsoleError": ("vigil.console.errors", "ConsoleError"),
    "ConsoleSettings": ("vigil.console.settings", "ConsoleSettings"),
    "install_console": ("vigil.console.http", "install_console"),
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MODULES[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # once loaded, a plain module attribute
    return value
