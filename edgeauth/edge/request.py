"""The original request as a reverse proxy describes it: its method, its path and the client's address.

Scope rules match what these functions return, so each one either yields the single form a rule can match or
refuses (`OddRequest`, 400): a path is percent-decoded until it no longer changes, stripped of dot segments and,
for case-insensitive rules, case-folded by the rule; a method is trimmed, upper-cased and must be an RFC 9110
token. The client address comes from the socket unless the peer is a trusted proxy (`trusted_proxies`); the
forwarding headers of anyone else are ignored, since a source address is what detections group attacks on.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit

from edgeauth.errors import OddRequest

_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")
_METHOD = re.compile(r"[A-Z]{1,20}")
# After decoding, a path holding a control character or a backslash means something different to different
# servers (IIS reads "\" as "/"): no rule can be sure to match it, so it is refused.
_ODD_PATH = re.compile(r"[\x00-\x1f\x7f\\]")
_MAX_DECODES = 4


def header_value(value: str) -> str:
    """Percent-escape anything that is not printable ASCII, so a claim can never split or break a header."""
    if value.isascii() and value.isprintable() and "%" not in value:
        return value
    return quote(value, safe=_HEADER_SAFE)


def normalized_path(uri: str) -> str:
    """The fully decoded, dot-segment-free path of a request URI, as scope rules match it; `OddRequest` if none."""
    # Origin-form ("/a/b?q") is cut by hand: urlsplit would read "//host/a" as a network location.
    raw = uri.split("?", 1)[0].split("#", 1)[0] if uri.startswith("/") else urlsplit(uri).path
    return _normalized(raw)


@lru_cache(maxsize=4096)
def _normalized(raw: str) -> str:
    # Proxied paths repeat endlessly; the query string is cut off first so it cannot flood this cache.
    # Refusals are not cached (an exception leaves no entry), so hostile paths cannot evict good ones either.
    path = raw or "/"
    for _ in range(_MAX_DECODES):
        try:
            decoded = unquote(path, errors="strict")
        except UnicodeDecodeError:
            raise OddRequest("the request path does not decode to UTF-8") from None
        if decoded == path:
            break
        path = decoded
    else:
        raise OddRequest("the request path is encoded too many times")
    if _ODD_PATH.search(path):
        raise OddRequest("the request path holds a control character or a backslash")
    normal = posixpath.normpath("/" + path.lstrip("/"))
    return "/" + normal.lstrip("/") + ("/" if path.endswith("/") and normal != "/" else "")


def normalized_method(method: str) -> str:
    """The method a rule matches: trimmed and upper-cased; anything but an RFC 9110 token of letters is refused."""
    upper = method.strip().upper()
    if not _METHOD.fullmatch(upper):
        raise OddRequest("the original request method is not a method")
    return upper


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    """Who the client is: the socket peer, or what a trusted proxy says (`X-Real-IP`, else `X-Forwarded-For`).

    With no trusted networks (the default) forwarding headers are never read.
    """

    def __init__(self, trusted: Iterable[Network]) -> None:
        self._trusted = tuple(trusted)
        # Peers repeat (the proxies themselves); one membership test per distinct peer.
        self._is_trusted = lru_cache(maxsize=1024)(self._check)

    @property
    def trusts_anyone(self) -> bool:
        return bool(self._trusted)

    def resolve(self, peer: str | None, real_ip: str | None, forwarded_for: str | None) -> str | None:
        if not self._trusted or peer is None or not self._is_trusted(peer):
            return peer
        if real_ip:
            return real_ip.strip() if _is_address(real_ip.strip()) else peer
        if forwarded_for:
            # The rightmost hop that is not one of ours is the client: entries left of it could be made up.
            for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
                if not _is_address(hop):
                    return peer
                if not self._is_trusted(hop):
                    return hop
        return peer

    def _check(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
