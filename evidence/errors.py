"""Errors of the evidence package: one root, one subclass per kind of failure, each message actionable."""

from __future__ import annotations


class EvidenceError(Exception):
    """Root of every error raised by `evidence`."""


class InvalidEvidenceError(EvidenceError):
    """An item handed to the locker, or a request, is malformed (bad time, empty name, bad period)."""


class LockerBusyError(EvidenceError):
    """Another appender held the locker lock for longer than the configured timeout."""


class LockerIntegrityError(EvidenceError):
    """The locker contradicts itself (a stored content file does not match its recorded SHA-256, a fork)."""


class NoEvidenceError(EvidenceError):
    """The locker holds no item matching the requested period and controls."""


class KeyStoreError(EvidenceError):
    """The bundle signing key store is missing, unreadable or holds no usable key."""


class BundleNotFoundError(EvidenceError):
    """No bundle of that name exists (or it lies outside the caller's engagement period)."""


class EngagementError(EvidenceError):
    """The auditor's engagement period does not cover the request (or the claim is malformed)."""


class BundleInvalidError(EvidenceError):
    """A bundle failed offline verification; `problems` names every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"bundle failed verification ({len(problems)} problem(s)): {problems[0]}")
