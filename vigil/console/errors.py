"""Console errors: each names what the person should do next; `http.py` turns them into pages or redirects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from elasticsearch import ApiError, TransportError
from pydantic import ValidationError

from compliance import ComplianceError, PeriodError, ScopeError
from detections import DetectionsError
from evidence import BundleNotFoundError, EngagementError, EvidenceError, InvalidEvidenceError, NoEvidenceError


class ConsoleError(Exception):
    """Root of the console's errors; `status_code` is the status of the page that explains it."""

    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        if status_code is not None:
            self.status_code = status_code


class SignInRequired(ConsoleError):
    """No session, or its token no longer verifies (expired, revoked, key rotated away)."""

    status_code = 401


class RoleRefused(ConsoleError):
    """The signed-in principal lacks a scope the page needs."""

    status_code = 403


class FormRejected(ConsoleError):
    """A form post without a valid CSRF token or with invalid fields."""

    status_code = 400


class NotFound(ConsoleError):
    status_code = 404


_EVIDENCE_STATUS: tuple[tuple[type[EvidenceError], int], ...] = (
    (BundleNotFoundError, 404),
    (NoEvidenceError, 404),
    (EngagementError, 403),
    (InvalidEvidenceError, 422),
)


@contextmanager
def translated() -> Iterator[None]:
    """The packages' errors as console errors with the status their own APIs would answer."""
    try:
        yield
    except DetectionsError as exc:
        raise ConsoleError(str(exc), status_code=exc.status_code) from None
    except EvidenceError as exc:
        status = next((code for kind, code in _EVIDENCE_STATUS if isinstance(exc, kind)), 503)
        raise ConsoleError(str(exc), status_code=status) from None
    except ComplianceError as exc:
        status = 422 if isinstance(exc, PeriodError) else 400 if isinstance(exc, ScopeError) else 503
        raise ConsoleError(str(exc), status_code=status) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "form"
        raise FormRejected(f"{where}: {first['msg']}", status_code=422) from None
    except (ApiError, TransportError) as exc:
        raise ConsoleError(
            f"the search cluster did not answer ({type(exc).__name__}); retry", status_code=503
        ) from None
