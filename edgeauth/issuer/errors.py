"""Errors of the issuer. Each carries its RFC 6749 section 5.2 `error` code and HTTP status, so one handler
renders any of them as OAuth error JSON without knowing the class."""

from __future__ import annotations

from edgeauth.errors import EdgeAuthError


class IssuerError(EdgeAuthError):
    """Root of the issuer's errors."""

    error = "invalid_request"
    status_code = 400


class ClientError(IssuerError):
    """A client registry operation cannot be done as asked."""


class ClientNotFound(ClientError):
    error = "invalid_client"
    status_code = 404

    def __init__(self, client_id: str) -> None:
        super().__init__(f"no client {client_id!r}; `vigil clients list` shows the registered ones")


class ClientExists(ClientError):
    status_code = 409

    def __init__(self, client_id: str) -> None:
        super().__init__(f"client {client_id!r} already exists; pick another id or `vigil clients rotate` it")


class InvalidClientDefinition(ClientError):
    """A field of a client (id, scope, audience, key, period) is not acceptable."""


class RateLimited(IssuerError):
    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(f"too many token requests for this {what}; retry in {retry_after} s")
        self.retry_after = retry_after


class RequestTooLarge(IssuerError):
    status_code = 413


class IssuerUnavailable(IssuerError):
    """A backing service (Redis) cannot be reached; the client should retry later."""

    error = "temporarily_unavailable"
    status_code = 503
