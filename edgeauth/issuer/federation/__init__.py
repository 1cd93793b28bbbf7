"""Federation: people sign in with their company's OpenID Connect provider (an upstream), Vigil's issuer being its
relying party. `upstream.py` speaks to the upstream (discovery, code flow with PKCE, ID token verification,
refresh), `provisioning.py` decides from the verified claims who the person is here (e-mail domain, claim to role
mapping, engagement window), `flow.py` runs the sign-in and the re-check at each refresh.
"""

from edgeauth.issuer.federation.errors import (
    FederationError,
    FlowExpired,
    ProvisioningRefused,
    UnknownUpstream,
    UpstreamRefused,
    UpstreamUnavailable,
)
from edgeauth.issuer.federation.provisioning import Provisioned, provision_from_claims
from edgeauth.issuer.federation.upstream import UpstreamIdentity, UpstreamProvider

__all__ = [
    "FederationError",
    "FlowExpired",
    "Provisioned",
    "ProvisioningRefused",
    "UnknownUpstream",
    "UpstreamIdentity",
    "UpstreamProvider",
    "UpstreamRefused",
    "UpstreamUnavailable",
    "provision_from_claims",
]
