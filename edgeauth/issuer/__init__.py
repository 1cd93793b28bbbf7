"""The edgeauth issuer: an OAuth 2.0 authorization server on authlib's server components.

RFC 6749 client credentials and refresh tokens (rotation, reuse detection), RFC 7523 `private_key_jwt`,
RFC 9068 access tokens, RFC 7009 revocation, RFC 7662 introspection, RFC 8414 metadata, the client registry
(secrets as keyed hashes), rate limits and scheduled key rotation; and an OpenID Connect provider for people
(authorization code + PKCE, ID tokens, userinfo, discovery, RP-initiated logout, the login and consent pages).
"""

from edgeauth.issuer.accounts import Account, AccountLookup, UpstreamCheck
from edgeauth.issuer.authority import Issuer, build_issuer
from edgeauth.issuer.clientsecrets import ClientSecretHasher, SecretCheck, SecretHashKeys
from edgeauth.issuer.errors import (
    ClientError,
    ClientExists,
    ClientNotFound,
    InvalidClientDefinition,
    IssuerError,
    IssuerUnavailable,
    RateLimited,
)
from edgeauth.issuer.http import create_issuer_router, install_error_handler, oauth_error
from edgeauth.issuer.models import (
    OIDC_SCOPES,
    ROLE_SCOPES,
    ClientAuditEvent,
    ClientPublic,
    ClientRecord,
    IssuedCredential,
    Role,
)
from edgeauth.issuer.pages import UpstreamButton, UpstreamSignIn, install_issuer_pages
from edgeauth.issuer.registry import ClientRegistry, ClientStore, RedisClientStore
from edgeauth.issuer.rotation import RotationOutcome, rotate_if_due
from edgeauth.issuer.server import IssuerRequest, IssuerResponse
from edgeauth.issuer.tasks import register_tasks
from edgeauth.issuer.tokens import RevocationLedger, SigningKeys

__all__ = [
    "OIDC_SCOPES",
    "ROLE_SCOPES",
    "Account",
    "AccountLookup",
    "ClientAuditEvent",
    "ClientError",
    "ClientExists",
    "ClientNotFound",
    "ClientPublic",
    "ClientRecord",
    "ClientRegistry",
    "ClientSecretHasher",
    "ClientStore",
    "InvalidClientDefinition",
    "IssuedCredential",
    "Issuer",
    "IssuerError",
    "IssuerRequest",
    "IssuerResponse",
    "IssuerUnavailable",
    "RateLimited",
    "RedisClientStore",
    "RevocationLedger",
    "Role",
    "RotationOutcome",
    "SecretCheck",
    "SecretHashKeys",
    "SigningKeys",
    "UpstreamButton",
    "UpstreamCheck",
    "UpstreamSignIn",
    "build_issuer",
    "create_issuer_router",
    "install_error_handler",
    "install_issuer_pages",
    "oauth_error",
    "register_tasks",
    "rotate_if_due",
]
