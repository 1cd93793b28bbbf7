"""Errors of the composition package.

Every message is one line a user can act on; the CLI prints it without a stack trace. Like every package's
errors, each class carries its HTTP status (`status_code`) and public code (`error`) for `vigil/problems.py`.
"""


class VigilError(Exception):
    """Root of the errors raised by the `vigil` package."""

    status_code = 500
    error = "internal_error"
    exit_code = 1


class ConfigurationError(VigilError):
    """A setting is missing or has a wrong value."""

    exit_code = 2


class ServiceError(VigilError):
    """A local or external service (Elasticsearch, Redis, nginx) cannot be used."""

    status_code = 503
    error = "service_unavailable"


class JavaNotFoundError(ServiceError):
    """No JDK new enough to run the pinned Elasticsearch."""


class PortTakenError(ServiceError):
    """The port a local service needs is held by another program."""


class DownloadError(ServiceError):
    """Fetching or checking the Elasticsearch distribution failed."""


class BadRequestError(VigilError):
    """A request the app cannot even frame (a malformed `Content-Length`)."""

    status_code = 400
    error = "invalid_request"


class RequestTooLargeError(VigilError):
    """A request body above its route's limit, refused before it is parsed."""

    status_code = 413
    error = "payload_too_large"
