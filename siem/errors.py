"""Errors of the siem package: one root, one subclass per failure a caller can act on.

Every class carries its HTTP status (`status_code`) and public code (`error`); the app's one error handler
(`vigil/problems.py`) renders them, so routes raise and never build error answers themselves. A new error class
states both attributes (or inherits them knowingly); `tests/test_problems.py` walks every class.
"""

from __future__ import annotations


class SiemError(Exception):
    """Root of every error raised by siem."""

    status_code = 500
    error = "internal_error"

    exit_code = 1


class UnknownDatasetError(SiemError):
    """The dataset or record format is not one siem knows."""

    status_code = 404
    error = "unknown_dataset"


class InvalidBatchError(SiemError):
    """The request body cannot be read as a batch (bad gzip, not UTF-8, empty)."""

    status_code = 400
    error = "invalid_batch"


class BatchTooLargeError(SiemError):
    """The batch, or one line in it, exceeds the configured size limits."""

    status_code = 413
    error = "too_large"


class BackpressureError(SiemError):
    """The queue is above its high-water mark: the caller must retry later."""

    status_code = 429
    error = "backpressure"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueueUnavailableError(SiemError):
    """Redis did not take the batch; nothing was queued."""

    status_code = 503
    error = "queue_unavailable"


class ElasticsearchUnavailableError(SiemError):
    """Elasticsearch did not answer within the retry budget; the batch stays pending for a later delivery."""

    status_code = 503
    error = "search_unavailable"


class ParseError(SiemError):
    """A record does not match its format; the record goes to the dead letter with this message."""

    status_code = 422
    error = "unparsable_record"


class DeadLetterError(SiemError):
    """A dead-letter operation cannot be carried out (unknown id, index missing)."""

    status_code = 404
    error = "not_found"


class ListenerError(SiemError):
    """A network input cannot start (port taken, certificate or key unreadable)."""

    status_code = 400
    error = "invalid_listener"


class TailError(SiemError):
    """A file cannot be tailed (missing, unreadable, offset store unusable)."""

    status_code = 400
    error = "invalid_tail"


class RecordsDeadLetteredError(SiemError):
    """An input's records were queued but some will go to the dead letter (the CLI fails unless told it may)."""

    status_code = 422
    error = "records_dead_lettered"
    exit_code = 3
