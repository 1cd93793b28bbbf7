"""Federation: people sign in with their company's OpenID Connect provider (an upstream), Vigil's issuer being its
relying party. `upstream.py` speaks to the upstream (discovery, code flow with PKCE, ID token verification,
refresh), `provisioning.py` decides from the verified claims who the person is here (e-mail domain, claim to role
mapping, engagement window), `flow.py` runs the sign-in and the re-check at each refresh, `http.py` its two routes
and the login page's "Sign in with <IdP>" buttons.

Wiring (`vigil/app.py`): `federation = Federation(settings, redis, directory=...)`, the issuer built with
`upstream=federation`, `install_issuer_pages(..., upstreams=SignInButtons(federation))` and
`create_federation_router(federation, issuer)`.
"""

from edgeauth.issuer.federation.errors import (
    FederationError,
    FlowExpired,
    ForeignBrowser,
    ProvisioningRefused,
    UnknownUpstream,
    UpstreamRefused,
    UpstreamUnavailable,
)
from edgeauth.issuer.federation.flow import CALLBACK_PATH, START_PATH, FederatedSignIn, Federation, build_federation
from edgeauth.issuer.federation.http import SignInButtons, create_federation_router
from edgeauth.issuer.federation.provisioning import Provisioned, provision_from_claims
from edgeauth.issuer.federation.upstream import UpstreamIdentity, UpstreamProvider

__all__ = [
    "CALLBACK_PATH",
    "START_PATH",
    "FederatedSignIn",
    "Federation",
    "FederationError",
    "FlowExpired",
    "ForeignBrowser",
    "Provisioned",
    "ProvisioningRefused",
    "SignInButtons",
    "UnknownUpstream",
    "UpstreamIdentity",
    "UpstreamProvider",
    "UpstreamRefused",
    "UpstreamUnavailable",
    "build_federation",
    "create_federation_router",
    "provision_from_claims",
]
