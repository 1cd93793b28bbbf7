"""Redirect URI matching: exact string comparison (RFC 6749 3.1.2.3, RFC 9700 4.1.1), with the one exception of
RFC 8252 section 7.3: a public (native) client's loopback redirect may name any port, because the operating
system picks a free one when the app starts listening.

Only `http://127.0.0.1` and `http://[::1]` count as loopback (RFC 8252 8.3: `localhost` can be resolved to
something else). Everything but the port must match a registered loopback URI exactly: path, query, no
userinfo, no fragment.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "[::1]"})
MAX_REDIRECT_URI_CHARS = 2000


def _without_port(uri: str) -> str | None:
    """`uri` with its port removed if it is an http loopback URI with a valid port (or none), else None."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    netloc = parts.netloc
    if parts.scheme != "http" or "@" in netloc or parts.fragment or netloc.endswith(":"):
        return None
    host = netloc.rsplit(":", 1)[0] if port is not None else netloc
    if host not in LOOPBACK_HOSTS:
        return None
    rebuilt = f"http://{host}{parts.path}"
    return rebuilt + (f"?{parts.query}" if parts.query else "")


def redirect_uri_allowed(requested: str, registered: tuple[str, ...], *, public: bool) -> bool:
    """Whether `requested` may receive this client's codes: an exact registered URI, or for a public client a
    registered loopback URI with any port."""
    if not requested or len(requested) > MAX_REDIRECT_URI_CHARS or not requested.isascii():
        return False
    if requested in registered:
        return True
    if not public:
        return False
    stripped = _without_port(requested)
    return stripped is not None and any(_without_port(uri) == stripped for uri in registered)
