"""Errors of edgeauth.

Verification failures carry a stable `reason` code (what decision events and tests key on) and the RFC 6750
`error` code a bearer-token challenge sends; they render themselves without any web framework.

Every class carries its HTTP status (`status_code`) and public code (`error`, the OAuth 2.0 code of RFC 6749
section 5.2 or RFC 6750 section 3.1); one error handler per app renders them (`edgeauth.issuer.oauth_error` for
edgeauth's own apps, `vigil/problems.py` for Vigil's), so routes raise and never build error answers themselves.
"""

from __future__ import annotations


class EdgeAuthError(Exception):
    """Root of every error raised by edgeauth: a backing store or a setting failed, so the caller retries later."""

    status_code = 503
    error = "temporarily_unavailable"
    exit_code = 1


class EdgeAuthConfigurationError(EdgeAuthError):
    """A setting of edgeauth is missing or inconsistent."""

    exit_code = 2


class KeyStoreError(EdgeAuthError):
    """The key store cannot produce, decrypt or rotate a signing key."""


class RevocationError(EdgeAuthError):
    """A revocation cannot be published or read."""


class VerificationError(EdgeAuthError):
    """A token was refused. `reason` is stable; the message is for humans and never holds the token."""

    reason = "invalid_token"
    error = "invalid_token"
    status_code = 401

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    @property
    def description(self) -> str:
        return str(self)

    def www_authenticate(self, realm: str = "vigil", scope: str | None = None) -> str:
        """The RFC 6750 section 3 challenge for this refusal."""
        parts = [f'realm="{realm}"']
        if self.reason != "missing_token":
            # RFC 6750 3.1: a request without credentials gets a bare challenge, no error code.
            parts.append(f'error="{self.error}"')
            parts.append(f'error_description="{_quote_safe(self.description)}"')
        if scope:
            parts.append(f'scope="{_quote_safe(scope)}"')
        return "Bearer " + ", ".join(parts)


class MissingToken(VerificationError):
    reason = "missing_token"
    error = "invalid_request"


class MalformedToken(VerificationError):
    reason = "malformed"


class TokenTooLarge(VerificationError):
    reason = "too_large"


class AlgorithmNotAllowed(VerificationError):
    reason = "alg_not_allowed"


class UnknownKeyId(VerificationError):
    reason = "unknown_kid"


class InvalidKeyId(VerificationError):
    reason = "invalid_kid"


class UnsupportedCritical(VerificationError):
    reason = "unsupported_crit"


class WrongTokenType(VerificationError):
    reason = "wrong_type"


class BadSignature(VerificationError):
    reason = "bad_signature"


class MissingClaim(VerificationError):
    reason = "missing_claim"


class ExpiredToken(VerificationError):
    reason = "expired"


class NotYetValid(VerificationError):
    reason = "not_yet_valid"


class IssuedInFuture(VerificationError):
    reason = "issued_in_future"


class WrongIssuer(VerificationError):
    reason = "wrong_issuer"


class WrongAudience(VerificationError):
    reason = "wrong_audience"


class RevokedToken(VerificationError):
    reason = "revoked"


class StaleState(VerificationError):
    """Keys or revocations are older than the allowed staleness and the route fails closed."""

    reason = "stale"


class OddRequest(VerificationError):
    """The original request's method or path has no single form a scope rule could match (`GET /verify`)."""

    reason = "odd_request"
    error = "invalid_request"
    status_code = 400


class InsufficientScope(VerificationError):
    reason = "insufficient_scope"
    error = "insufficient_scope"
    status_code = 403


def _quote_safe(text: str) -> str:
    # RFC 6750 3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E (no quote, no backslash).
    return "".join(ch for ch in text if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\')
