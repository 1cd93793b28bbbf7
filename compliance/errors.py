"""Errors of the compliance package: one root, one subclass per kind of failure, each message actionable."""

from __future__ import annotations


class ComplianceError(Exception):
    """Root of every error raised by `compliance`."""


class CatalogError(ComplianceError):
    """The control catalog is malformed or refers to a check or collector that does not exist."""


class ScopeError(ComplianceError):
    """The configured scope names a control the catalog does not have."""


class UnknownCheckError(ComplianceError):
    """A check id is not registered (a typo in the catalog or a check that was never written)."""


class EvidenceFormatError(ComplianceError):
    """A locker item claims to come from a compliance collector but its content does not parse."""


class CollectionError(ComplianceError):
    """A collector could not read its source; the message names the collector and the source."""


class PeriodError(ComplianceError):
    """A requested period is empty, reversed or not timezone-aware."""


class NoStatusError(ComplianceError):
    """No evaluation has been stored yet (run `vigil compliance status` or let the beat run)."""


class EngagementError(ComplianceError):
    """The auditor's engagement period does not cover the requested period (or the claim is malformed)."""
