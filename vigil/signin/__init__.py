"""Signing people in through an OpenID Connect provider: the relying-party half the console and the CLI share.

`relying_party` (authorization code + PKCE, ID token validation, refresh, revocation, RP-initiated logout) over
`discovery`; the CLI's native-app pieces: `loopback` (RFC 8252 redirect listener), `credentials` (the 0600 file)
and `native` (login, fresh access tokens, logout). The provider itself is edgeauth's issuer; nothing here issues.
"""

from vigil.signin.credentials import CredentialStore, StoredSignIn, config_folder
from vigil.signin.discovery import ProviderMetadata, discover
from vigil.signin.errors import (
    CallbackTimeout,
    CredentialFileUnsafe,
    IdTokenRejected,
    NotSignedIn,
    ProviderRefused,
    ProviderUnavailable,
    SessionEnded,
    SignInError,
    StateMismatch,
)
from vigil.signin.loopback import Callback, LoopbackReceiver
from vigil.signin.relying_party import AuthorizationRequest, IdClaims, RelyingParty, TokenSet

__all__ = [
    "AuthorizationRequest",
    "Callback",
    "CallbackTimeout",
    "CredentialFileUnsafe",
    "CredentialStore",
    "IdClaims",
    "IdTokenRejected",
    "LoopbackReceiver",
    "NotSignedIn",
    "ProviderMetadata",
    "ProviderRefused",
    "ProviderUnavailable",
    "RelyingParty",
    "SessionEnded",
    "SignInError",
    "StateMismatch",
    "StoredSignIn",
    "TokenSet",
    "config_folder",
    "discover",
]
