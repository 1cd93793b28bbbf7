"""The console: web pages for people, composed from the packages' public APIs.

Analysts triage alerts and watch rules; auditors read control status and download evidence bundles. Sign-in is a
pasted edgeauth access token kept in an HttpOnly cookie and re-verified on every request.
"""

from vigil.console.errors import ConsoleError
from vigil.console.http import install_console
from vigil.console.overview import Overview
from vigil.console.settings import ConsoleSettings

__all__ = ["ConsoleError", "ConsoleSettings", "Overview", "install_console"]
