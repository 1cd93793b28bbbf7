"""RFC 6238 TOTP (through pyotp) and one-time recovery codes: the second factor's arithmetic, free of storage.

TOTP: 160-bit secrets, SHA-1, 6 digits, 30-second steps: the parameters every authenticator app reads from an
`otpauth://` URI. A code is accepted for the current step or `window` steps either side (clock skew), and only
for a step later than the last one accepted, so a code (or an older one) seen once is refused ever after.
The QR code is an SVG drawn here by segno: the enrolment page needs no CDN and no script.

Recovery codes: 16 characters of Crockford's base32 (80 random bits, grouped `xxxx-xxxx-xxxx-xxxx`), shown once;
only salted SHA-256 digests are stored. A fast hash is enough for 80 random bits (no guessing attack gets near
2^80 tries), and it keeps checking ten digests cheap. Input is read forgivingly: case, spaces and dashes ignored,
`i`/`l` read as 1 and `o` as 0.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from datetime import datetime
from typing import Literal

import pyotp
import segno

STEP_SECONDS = 30
DIGITS = 6
RECOVERY_CODE_COUNT = 10
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_RECOVERY_CHARS = 16
_READ_AS = str.maketrans({"i": "1", "l": "1", "o": "0", "-": None, " ": None})

CodeKind = Literal["totp", "recovery_code", "malformed"]


def new_secret() -> str:
    """A base32 TOTP secret of 160 bits (RFC 4226's recommended HMAC-SHA-1 key length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (error correction M), ready to embed in a server-rendered page."""
    return str(segno.make(uri, error="m", micro=False).svg_inline(scale=5, border=4, title="TOTP enrolment"))


def qr_text(uri: str) -> str:
    """The URI as a QR code of block characters, for a terminal."""
    out = io.StringIO()
    segno.make(uri, error="m", micro=False).terminal(out=out, compact=True)
    return out.getvalue()


def classify(code: str) -> tuple[CodeKind, str]:
    """What a typed code looks like (6 digits: TOTP; 16 base32 characters: recovery code) and its normal form."""
    normal = code.strip().casefold().translate(_READ_AS)
    if len(normal) == DIGITS and normal.isascii() and normal.isdigit():
        return "totp", normal
    if len(normal) == _RECOVERY_CHARS and all(ch in _CROCKFORD for ch in normal):
        return "recovery_code", normal
    return "malformed", normal


def matching_step(secret: str, code: str, now: datetime, *, window: int) -> int | None:
    """The time step whose code `code` is, within `window` steps of `now`; None when none matches."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = totp.timecode(now)
    found = None
    # Every candidate is computed and compared in constant time, so timing does not tell which step matched.
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> tuple[list[str], str, tuple[str, ...]]:
    """(codes to show once, salt, their digests to store)."""
    salt = secrets.token_hex(16)
    codes = ["".join(secrets.choice(_CROCKFORD) for _ in range(_RECOVERY_CHARS)) for _ in range(count)]
    shown = ["-".join(code[i : i + 4] for i in range(0, _RECOVERY_CHARS, 4)) for code in codes]
    return shown, salt, tuple(recovery_digest(salt, code) for code in codes)


def recovery_digest(salt: str, normal_code: str) -> str:
    return hashlib.sha256(f"{salt}:{normal_code}".encode("ascii")).hexdigest()


def matching_digest(salt: str, digests: tuple[str, ...], normal_code: str) -> str | None:
    """The stored digest `normal_code` matches, compared with every digest in constant time; None when none does."""
    wanted = recovery_digest(salt, normal_code)
    found = None
    for digest in digests:
        if hmac.compare_digest(digest, wanted):
            found = digest
    return found
