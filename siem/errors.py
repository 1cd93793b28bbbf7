"""Errors of the siem package: one root, one subclass per failure a caller can act on.

Each class carries the HTTP status its thin adapter answers with, so `http.py` maps them in one place and the
domain code never knows about FastAPI.
"""

from __future__ import annotations


class SiemError(Exception):
    """Root of every error raised by siem."""

    status_code = 500
    exit_code = 1


class UnknownDatasetError(SiemError):
    """The dataset or record format is not one siem knows."""

    status_code = 404


class InvalidBatchError(SiemError):
    """The request body cannot be read as a batch (bad gzip, not UTF-8, empty)."""

    status_code = 400


class BatchTooLargeError(SiemError):
    """The batch, or one line in it, exceeds the configured size limits."""

    status_code = 413


class BackpressureError(SiemError):
    """The queue is above its high-water mark: the caller must retry later."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueueUnavailableError(SiemError):
    """Redis did not take the batch; nothing was queued."""

    status_code = 503


class ElasticsearchUnavailableError(SiemError):
    """Elasticsearch did not answer within the retry budget; the batch stays pending for a later delivery."""

    status_code = 503


class ParseError(SiemError):
    """A record does not match its format; the record goes to the dead letter with this message."""

    status_code = 422


class DeadLetterError(SiemError):
    """A dead-letter operation cannot be carried out (unknown id, index missing)."""

    status_code = 404


class TailError(SiemError):
    """A file cannot be tailed (missing, unreadable, offset store unusable)."""

    status_code = 400
