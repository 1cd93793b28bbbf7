"""Errors of the federation: the upstream cannot be asked, it refused, or what it vouched for is not allowed here.

`reason` is the machine word recorded in the sign-in event (`event.reason`); the message is what the person sees on
the refusal page, so it says what to do and never echoes a token.
"""

from __future__ import annotations

from edgeauth.issuer.errors import IssuerError


class FederationError(IssuerError):
    """Root of the federation's errors."""

    reason = "federation_error"


class UnknownUpstream(FederationError):
    status_code = 404
    reason = "unknown_upstream"

    def __init__(self, name: str) -> None:
        super().__init__(f"no identity provider named {name} is configured here")


class UpstreamUnavailable(FederationError):
    """The upstream does not answer, or answers with documents we cannot use."""

    error = "temporarily_unavailable"
    status_code = 503
    reason = "upstream_unavailable"


class UpstreamRefused(FederationError):
    """The upstream refused (an `error` on the callback or token endpoint), or its ID token did not verify."""

    status_code = 403
    reason = "upstream_refused"

    def __init__(self, code: str, description: str = "") -> None:
        self.code = code
        self.description = description
        detail = f"{code}: {description}" if description else code
        super().__init__(f"the identity provider refused the sign-in ({detail})")


class FlowExpired(FederationError):
    """The callback names no sign-in we started (unknown, used or expired `state`)."""

    status_code = 400
    reason = "unknown_state"

    def __init__(self) -> None:
        super().__init__("this sign-in expired or was already used; start again from the application")


class ForeignBrowser(FederationError):
    """The callback comes back to a browser that did not start this sign-in (no or another flow cookie)."""

    status_code = 400
    reason = "browser_mismatch"

    def __init__(self) -> None:
        super().__init__(
            "this sign-in was started in another browser (or its cookie was refused); start again from the "
            "application, in this browser"
        )


class ProvisioningRefused(FederationError):
    """The upstream vouched for a person Vigil does not let in (domain, no mapped role, unverified e-mail, ...)."""

    status_code = 403
    error = "access_denied"

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)
