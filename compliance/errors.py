"""Errors of the compliance package: one root, one subclass per kind of failure, each message actionable.

Every class carries its HTTP status (`status_code`) and public code (`error`); the app's one error handler
(`vigil/problems.py`) renders them, so routes raise and never build error answers themselves. A new error class
states both attributes (or inherits them knowingly); `tests/test_problems.py` walks every class.
"""

from __future__ import annotations


class ComplianceError(Exception):
    """Root of every error raised by `compliance`."""

    status_code = 500
    error = "compliance_error"


class CatalogError(ComplianceError):
    """The control catalog is malformed or refers to a check or collector that does not exist."""

    status_code = 500
    error = "catalog_invalid"


class ScopeError(ComplianceError):
    """The configured scope names a control the catalog does not have."""

    status_code = 400
    error = "invalid_scope"


class UnknownCheckError(ComplianceError):
    """A check id is not registered (a typo in the catalog or a check that was never written)."""

    status_code = 500
    error = "catalog_invalid"


class EvidenceFormatError(ComplianceError):
    """A locker item claims to come from a compliance collector but its content does not parse."""

    status_code = 500
    error = "evidence_unreadable"


class CollectionError(ComplianceError):
    """A collector could not read its source; the message names the collector and the source."""

    status_code = 503
    error = "source_unavailable"


class PeriodError(ComplianceError):
    """A requested period is empty, reversed or not timezone-aware."""

    status_code = 422
    error = "invalid_period"


class NoStatusError(ComplianceError):
    """No evaluation has been stored yet (run `vigil compliance status` or let the beat run)."""

    status_code = 404
    error = "no_status"


class EngagementError(ComplianceError):
    """The auditor's engagement period does not cover the requested period (or the claim is malformed)."""

    status_code = 403
    error = "engagement_closed"


class UnknownClientError(ComplianceError):
    """A transparency report was asked for a client that is neither registered nor served by a canary tier."""

    status_code = 404
    error = "unknown_client"


class ReportRenderError(ComplianceError):
    """The report's PDF could not be rendered (the message names the renderer's complaint)."""

    status_code = 500
    error = "report_unrenderable"
