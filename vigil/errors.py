"""Errors of the composition package.

Every message is one line a user can act on; the CLI prints it without a stack trace.
"""


class VigilError(Exception):
    """Root of the errors raised by the `vigil` package."""

    exit_code = 1


class ConfigurationError(VigilError):
    """A setting is missing or has a wrong value."""

    exit_code = 2


class ServiceError(VigilError):
    """A local or external service (Elasticsearch, Redis, nginx) cannot be used."""


class JavaNotFoundError(ServiceError):
    """No JDK new enough to run the pinned Elasticsearch."""


class PortTakenError(ServiceError):
    """The port a local service needs is held by another program."""


class DownloadError(ServiceError):
    """Fetching or checking the Elasticsearch distribution failed."""
