"""The CLI as a public native client (RFC 8252): sign in through the browser, keep the refresh token, call APIs.

Who calls it: `vigil login | logout | whoami` and the `--remote` commands. `login` starts a loopback listener,
hands the authorization URL to the person (and to a browser when there is one), waits for the one redirect,
exchanges the code with its PKCE verifier and stores the refresh token (`CredentialStore`). Every later command
trades the stored refresh token for a fresh access token and stores the rotated refresh token before using the
access token, so a crash in between never leaves the file holding a consumed token.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import SecretStr

from vigil.signin.credentials import CredentialStore, StoredSignIn
from vigil.signin.errors import ProviderRefused, SessionEnded, StateMismatch
from vigil.signin.loopback import LoopbackReceiver
from vigil.signin.relying_party import RelyingParty

CLI_CLIENT_ID = "vigil-cli"
# What the CLI asks for; the provider grants the part the person's roles allow.
CLI_SCOPE = "openid profile alerts:read alerts:triage hunt:run evidence:read compliance:read"
DEFAULT_WAIT_SECONDS = 300.0


@dataclass(frozen=True)
class RemoteCall:
    """What a `--remote` command needs: where the API is and a bearer token for this person, fresh."""

    api_url: str
    access_token: SecretStr
    subject: str


def login(
    issuer: str,
    *,
    store: CredentialStore,
    announce: Callable[[str], None],
    open_browser: Callable[[str], bool] | None,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    client_id: str = CLI_CLIENT_ID,
    scope: str = CLI_SCOPE,
) -> StoredSignIn:
    """Sign in through the provider's own page; `announce` shows the URL, `open_browser` (if any) opens it."""
    party = RelyingParty(issuer, client_id, scope=scope)
    with LoopbackReceiver() as receiver:
        request = party.begin(receiver.redirect_uri)
        announce(request.url)
        if open_browser is not None:
            open_browser(request.url)
        callback = receiver.wait(wait_seconds)
    if callback.error:
        detail = f": {callback.error_description}" if callback.error_description else ""
        raise ProviderRefused(f"the provider refused the sign-in ({callback.error}{detail})", callback.error)
    state = callback.state or ""
    if not hmac.compare_digest(state.encode(), request.state.encode()) or not callback.code:
        raise StateMismatch("the redirect did not answer this sign-in (state mismatch); run `vigil login` again")
    tokens = party.finish(request, callback.code)
    if tokens.refresh_token is None or tokens.claims is None:
        raise ProviderRefused("the provider issued no refresh token (offline_access); the CLI cannot stay signed in")
    signin = StoredSignIn(
        issuer=party.metadata.issuer,
        client_id=client_id,
        subject=tokens.claims.sub,
        display_name=tokens.claims.display,
        refresh_token=tokens.refresh_token,
        scope=tokens.scope,
        signed_in_at=datetime.now(UTC),
    )
    store.save(signin)
    return signin


def remote_call(store: CredentialStore) -> RemoteCall:
    """A fresh access token for the stored person; `SessionEnded` (and the file removed) when refresh is refused."""
    signin = store.load()
    party = RelyingParty(signin.issuer, signin.client_id, scope=signin.scope or CLI_SCOPE)
    try:
        tokens = party.refresh(signin.refresh_token, subject=signin.subject)
    except ProviderRefused as exc:
        if exc.oauth_error in {"invalid_grant", "invalid_client", "unauthorized_client"}:
            store.delete()
            raise SessionEnded(
                f"your sign-in at {signin.issuer} ended ({exc.oauth_error}); run `vigil login` again"
            ) from None
        raise
    if tokens.refresh_token is not None:
        rotated = {"refresh_token": tokens.refresh_token, "scope": tokens.scope or signin.scope}
        store.save(signin.model_copy(update=rotated))
    return RemoteCall(api_url=signin.issuer, access_token=tokens.access_token, subject=signin.subject)


def logout(store: CredentialStore) -> StoredSignIn:
    """Revoke the stored refresh token at the provider, then forget it (also when the provider is unreachable)."""
    signin = store.load()
    try:
        RelyingParty(signin.issuer, signin.client_id).revoke(signin.refresh_token)
    finally:
        store.delete()
    return signin
