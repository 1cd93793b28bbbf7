"""Errors of the detections package: one root, one subclass per stage, each message one actionable line.

Every class carries its HTTP status (`status_code`) and public code (`error`); the app's one error handler
(`vigil/problems.py`) renders them, so routes raise and never build error answers themselves. A new error class
states both attributes (or inherits them knowingly); `tests/test_problems.py` walks every class.
"""

from __future__ import annotations


class DetectionsError(Exception):
    """Root of every error raised by `detections`."""

    status_code = 400
    error = "invalid_request"
    exit_code = 1


class ConversionError(DetectionsError):
    """A rule cannot be turned into an Elasticsearch query."""


class RuleNotFoundError(DetectionsError):
    """No loaded rule has this id or name."""

    status_code = 404
    error = "not_found"


class AlertNotFoundError(DetectionsError):
    """No alert has this id."""

    status_code = 404
    error = "not_found"


class TriageError(DetectionsError):
    """A triage change is not allowed from the alert's current status."""

    status_code = 409
    error = "conflict"


class ConflictError(DetectionsError):
    """Someone else changed the alert at the same time; reload and retry."""

    status_code = 409
    error = "conflict"


class QueryError(DetectionsError):
    """An analyst's search query or time range is malformed (the message says where)."""


class LimitExceededError(DetectionsError):
    """A well-formed request past a limit (search window, page, export size, time; exceptions per rule set)."""

    status_code = 422
    error = "limit_exceeded"


class HuntNotFoundError(DetectionsError):
    """No retro-hunt job has this id (or it expired)."""

    status_code = 404
    error = "not_found"


class ExceptionNotFoundError(DetectionsError):
    """No rule exception has this id."""

    status_code = 404
    error = "not_found"
