"""The edgeauth issuer: an OAuth 2.0 authorization server on authlib's server components.

RFC 6749 client credentials and refresh tokens (rotation, reuse detection), RFC 7523 `private_key_jwt`,
RFC 9068 access tokens, RFC 7009 revocation, RFC 7662 introspection, RFC 8414 metadata, the client registry
(secrets as keyed hashes), rate limits and scheduled key rotation.
"""

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
from edgeauth.issuer.models import ROLE_SCOPES, ClientAuditEvent, ClientPublic, ClientRecord, IssuedCredential, Role
from edgeauth.issuer.registry import ClientRegistry, ClientStore, RedisClientStore
from edgeauth.issuer.rotation import RotationOutcome, rotate_if_due
from edgeauth.issuer.server import IssuerRequest, IssuerResponse
from edgeauth.issuer.tasks import register_tasks
from edgeauth.issuer.tokens import RevocationLedger, SigningKeys

__all__ = [
    "ROLE_SCOPES",
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
    "build_issuer",
    "create_issuer_router",
    "install_error_handler",
    "oauth_error",
    "register_tasks",
    "rotate_if_due",
]
