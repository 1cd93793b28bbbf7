"""Console errors: each names what the person should do next.

Like every package's errors they carry their HTTP status (`status_code`) and public code (`error`); the app's one
error handler (`vigil/problems.py`) renders them, and the packages' own errors, as the console's error page (or,
for `SignInRequired`, a redirect to sign-in) with the same status the API answers.
"""

from __future__ import annotations

from pydantic import ValidationError

from vigil.errors import VigilError


class ConsoleError(VigilError):
    """Root of the console's errors."""

    status_code = 400
    error = "invalid_request"


class SignInRequired(ConsoleError):
    """No session, or it ended: idle or absolute timeout, refresh refused, token revoked or no longer verifying."""

    status_code = 401
    error = "sign_in_required"


class SessionBusy(ConsoleError):
    """Another request holds the session's refresh for longer than a page should wait."""

    status_code = 503
    error = "session_busy"


class NotRegistered(ConsoleError):
    """The console has no client at the provider yet (`vigil console register`)."""

    status_code = 503
    error = "console_not_registered"


class RoleRefused(ConsoleError):
    """The signed-in principal lacks a scope the page needs."""

    status_code = 403
    error = "insufficient_scope"


class OutsideEngagement(ConsoleError):
    """The requested period lies outside the auditor's engagement period."""

    status_code = 403
    error = "engagement_closed"


class FormRejected(ConsoleError):
    """A form post without a valid CSRF token, or a form that cannot be read."""

    status_code = 400
    error = "invalid_form"


class InvalidField(FormRejected):
    """A form or query field holds a value the page cannot use (not a date, out of range, too long)."""

    status_code = 422
    error = "invalid_field"


class NotFound(ConsoleError):
    status_code = 404
    error = "not_found"


def invalid_field(exc: ValidationError) -> InvalidField:
    """The first complaint of a form's validation as one line naming the field (never repeating its value)."""
    first = exc.errors(include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "form"
    return InvalidField(f"{where}: {first['msg']}")
