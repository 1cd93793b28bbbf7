"""Errors of signing people in through an OpenID Connect provider (the console's and the CLI's shared half).

Each names what the person should do next, in one line; like every `VigilError` they carry an HTTP status for the
console's error pages and an exit code for the CLI.
"""

from __future__ import annotations

from vigil.errors import VigilError


class SignInError(VigilError):
    """Root of the sign-in errors."""

    status_code = 401
    error = "sign_in_failed"


class ProviderUnavailable(SignInError):
    """The provider cannot be reached, or its discovery document or keys cannot be used."""

    status_code = 503
    error = "provider_unavailable"


class ProviderRefused(SignInError):
    """The provider answered a grant or a revocation with an OAuth error (`invalid_grant`, ...)."""

    status_code = 400
    error = "sign_in_refused"

    def __init__(self, message: str, oauth_error: str = "") -> None:
        super().__init__(message)
        self.oauth_error = oauth_error


class IdTokenRejected(SignInError):
    """The ID token failed validation (signature, issuer, audience, nonce, expiry)."""

    error = "invalid_id_token"


class StateMismatch(SignInError):
    """A callback whose state is unknown, used, expired or started in another browser."""

    status_code = 400
    error = "invalid_state"


class CallbackTimeout(SignInError):
    """Nobody came back to the CLI's loopback redirect in time."""

    status_code = 408
    error = "sign_in_timeout"


class NotSignedIn(SignInError):
    """The CLI has no stored sign-in."""


class SessionEnded(SignInError):
    """The stored sign-in no longer refreshes (revoked, expired, user disabled): sign in again."""


class CredentialFileUnsafe(SignInError):
    """The CLI's credential file or folder is readable by others, a symlink, or someone else's."""

    status_code = 500
    error = "unsafe_credentials"
    exit_code = 2
