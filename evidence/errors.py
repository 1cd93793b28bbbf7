"""Errors of the evidence package: one root, one subclass per kind of failure, each message actionable.

Every class carries its HTTP status (`status_code`) and public code (`error`); the app's one error handler
(`vigil/problems.py`) renders them, so routes raise and never build error answers themselves. A new error class
states both attributes (or inherits them knowingly); `tests/test_problems.py` walks every class.
"""

from __future__ import annotations


class EvidenceError(Exception):
    """Root of every error raised by `evidence`."""

    status_code = 503
    error = "evidence_unavailable"


class InvalidEvidenceError(EvidenceError):
    """An item handed to the locker, or a request, is malformed (bad time, empty name, bad period)."""

    status_code = 422
    error = "invalid_request"


class LockerBusyError(EvidenceError):
    """Another appender held the locker lock for longer than the configured timeout."""

    status_code = 503
    error = "busy"


class LockerIntegrityError(EvidenceError):
    """The locker contradicts itself (a stored content file does not match its recorded SHA-256, a fork)."""


class StoreError(EvidenceError):
    """The shared store of content and bundles cannot be reached or refused a write (retry when it is back)."""

    status_code = 503
    error = "store_unavailable"


class NoEvidenceError(EvidenceError):
    """The locker holds no item matching the requested period and controls."""

    status_code = 404
    error = "no_evidence"


class SigningKeyError(EvidenceError):
    """The bundle signing key store is missing, unreadable or holds no usable key."""

    status_code = 503
    error = "signing_unavailable"


class BundleNotFoundError(EvidenceError):
    """No bundle of that name exists (or it lies outside the caller's engagement period)."""

    status_code = 404
    error = "not_found"


class EngagementError(EvidenceError):
    """The auditor's engagement period does not cover the request (or the claim is malformed)."""

    status_code = 403
    error = "engagement_closed"


class BundleInvalidError(EvidenceError):
    """A bundle failed offline verification; `problems` names every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"bundle failed verification ({len(problems)} problem(s)): {problems[0]}")
