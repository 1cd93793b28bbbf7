"""The federated sign-in, framework-free: from the login page's "Sign in with <IdP>" to an issuer session, and the
re-check of a federated person at each refresh.

1. `begin(upstream, pending_id)`: a fresh `state`, `nonce` and PKCE verifier are kept in Redis (one use, for
   `flow_ttl`) beside the pending authorization they resume; the browser goes to the upstream.
2. `complete(upstream, query)`: the `state` is taken (GETDEL: a replayed callback finds nothing), the code is
   redeemed with the verifier, the ID token verified against the nonce (`upstream.py`), the person decided from
   the claims (`provisioning.py`) and provisioned just in time in the people directory (no password; source
   `federated:<issuer>`), the upstream's refresh token kept sealed under the KEK, and the issuer session started
   the way a password sign-in starts it; the pending authorization then continues to its code.
3. `still_allowed(account)` (the issuer's `UpstreamCheck`, asked at every refresh and every authorization with an
   existing session): a federated person's upstream refresh token is used again; a refusal (disabled upstream,
   session ended there), an upstream that cannot be asked, claims that no longer map to a role or an allowed
   domain, or no kept token at all, refuse the person here, and the issuer revokes the refresh-token family.

Refusals and provisioning are people's sign-in events (`PeopleEvents`): a refused federated sign-in is a `sign-in`
failure with the reason (`domain_not_allowed`, `no_role`, `upstream_refused`, ...), a refusal at refresh a
`session-revoked` by `federation:<issuer>`.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import redis
from pydantic import BaseModel, ConfigDict, SecretStr

from edgeauth.audit import AuditSink
from edgeauth.errors import KeyStoreError
from edgeauth.issuer.accounts import Account
from edgeauth.issuer.authority import Issuer
from edgeauth.issuer.digest import digest
from edgeauth.issuer.federation.errors import (
    FederationError,
    FlowExpired,
    ForeignBrowser,
    ProvisioningRefused,
    UnknownUpstream,
    UpstreamRefused,
)
from edgeauth.issuer.federation.provisioning import Provisioned, provision_from_claims
from edgeauth.issuer.federation.upstream import UpstreamIdentity, UpstreamProvider
from edgeauth.issuer.login import Step
from edgeauth.issuer.sessions import BrowserState, PendingAuthorization
from edgeauth.keystore import sealer_for
from edgeauth.people import PeopleDirectory, PeopleError
from edgeauth.sealing import Sealer
from edgeauth.settings import EdgeAuthSettings, UpstreamSettings

CALLBACK_PATH = "/oauth/federation/{name}/callback"
START_PATH = "/oauth/federation/{name}/start"
#: Authentication methods of a federated sign-in when the upstream names none (RFC 8176 has no word for it).
FEDERATED_AMR = "fed"
MAX_CALLBACK_PARAM = 4096


class Flow(BaseModel):
    """One sign-in on its way through an upstream."""

    model_config = ConfigDict(frozen=True)

    upstream: str
    pending_id: str
    nonce: str
    code_verifier: str
    binding: str  # SHA-256 of the browser's flow cookie


class Grant(BaseModel):
    """What lets Vigil ask the upstream about a person again: their latest refresh token, sealed."""

    model_config = ConfigDict(frozen=True)

    upstream: str
    sealed_refresh_token: str
    verified_at: float


@dataclass(frozen=True)
class FederatedSignIn:
    """A completed federated sign-in: the login step that carries the issuer session and where the browser goes."""

    username: str
    pending_id: str
    step: Step


class Federation:
    """The configured upstreams of one issuer: sign-in through them, and the re-check at each refresh."""

    def __init__(
        self,
        settings: EdgeAuthSettings,
        client: redis.Redis,
        *,
        directory: PeopleDirectory,
        sealer: Sealer | None = None,
    ) -> None:
        """The issuer it signs people in to is given per call (`begin`, `complete`): the issuer is built with this
        object as its `UpstreamCheck`, so it cannot exist first."""
        self.settings = settings
        self._redis = client
        self._prefix = f"{settings.key_prefix}:federation"
        self._directory = directory
        self._sealer = sealer or sealer_for(settings)
        base = settings.issuer.rstrip("/")
        self.providers: dict[str, UpstreamProvider] = {
            u.name: UpstreamProvider(u, base + CALLBACK_PATH.format(name=u.name)) for u in settings.federation.upstreams
        }
        self._by_issuer = {u.issuer: u.name for u in settings.federation.upstreams}

    def upstream(self, name: str) -> UpstreamSettings:
        provider = self.providers.get(name)
        if provider is None:
            raise UnknownUpstream(name[:64])
        return provider.settings

    # -- 1. to the upstream ---------------------------------------------------------------------------------------
    def begin(self, name: str, pending_id: str, browser: BrowserState, *, binding: str) -> str:
        """The upstream's authorization URL for the pending request `pending_id` (which must still be waiting).

        `binding` is a random value the browser keeps in a cookie: the callback must come back with it, so a
        callback URL from someone else's sign-in cannot sign this browser in as them (RFC 6749 10.12)."""
        self.upstream(name)
        provider = self.providers[name]
        if browser.pending(pending_id) is None:
            raise FlowExpired()
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        url = provider.authorization_url(state=state, nonce=nonce, code_verifier=verifier)
        flow = Flow(upstream=name, pending_id=pending_id, nonce=nonce, code_verifier=verifier, binding=digest(binding))
        self._redis.set(
            f"{self._prefix}:flow:{digest(state)}", flow.model_dump_json(), ex=self.settings.federation.flow_ttl
        )
        return url

    # -- 2. back from the upstream --------------------------------------------------------------------------------
    def complete(
        self, name: str, query: Mapping[str, str], issuer: Issuer, *, binding: str | None, source_ip: str | None
    ) -> FederatedSignIn:
        """The callback: a `FederatedSignIn`, or a `FederationError` whose message the refusal page shows (the
        refusal is also emitted as a sign-in failure)."""
        settings = self.upstream(name)
        state = query.get("state", "")
        if not state or len(state) > MAX_CALLBACK_PARAM:
            raise FlowExpired()
        raw = cast(bytes | str | None, self._redis.getdel(f"{self._prefix}:flow:{digest(state)}"))
        if raw is None:
            raise FlowExpired()
        flow = Flow.model_validate_json(raw)
        if flow.upstream != name:
            raise FlowExpired()
        if binding is None or not hmac.compare_digest(digest(binding[:MAX_CALLBACK_PARAM]), flow.binding):
            raise ForeignBrowser()
        pending = issuer.browser.pending(flow.pending_id)
        if pending is None:
            raise FlowExpired()
        client_id = pending.params.get("client_id")
        identity: UpstreamIdentity | None = None
        try:
            if "error" in query:
                # Only the RFC 6749 error code, reduced to its alphabet: a description in the URL is anyone's text,
                # and this page must not carry a stranger's words ("call this number") under our name.
                raise UpstreamRefused(
                    "".join(c for c in query["error"][:64] if c.isascii() and (c.isalnum() or c == "_"))
                )
            code = query.get("code", "")
            if not code or len(code) > MAX_CALLBACK_PARAM:
                raise UpstreamRefused("invalid_request", "the callback carries no code")
            identity = self.providers[name].exchange(code, code_verifier=flow.code_verifier, nonce=flow.nonce)
            person = provision_from_claims(settings, identity.claims)
            self._provision(settings, person, source_ip)
        except FederationError as exc:
            self._directory.events.sign_in_failed(
                self._who(identity), exc.reason, source_ip=source_ip, client_id=client_id
            )
            raise
        self._keep_grant(person.username, name, identity)
        return self._sign_in(issuer, person.username, identity, flow.pending_id, pending, source_ip, client_id)

    @staticmethod
    def _who(identity: UpstreamIdentity | None) -> str:
        """The name a refusal is recorded under: the upstream's e-mail when we got that far."""
        email = identity.claims.get("email") if identity is not None else None
        return email.lower() if isinstance(email, str) else "(federated)"

    def _provision(self, settings: UpstreamSettings, person: Provisioned, source_ip: str | None) -> None:
        try:
            self._directory.provision(
                person.username,
                issuer=settings.issuer,
                display_name=person.display_name,
                email=person.email,
                roles=person.roles,
                engagement=person.engagement,
                source_ip=source_ip,
            )
        except PeopleError as exc:
            # A local account (or one of another upstream) holds that name: federation never takes it over.
            raise ProvisioningRefused(
                "account_conflict",
                f"a Vigil account named {person.username} already exists and does not belong to "
                f"{settings.display_name}; ask your Vigil administrator",
            ) from exc
        record = self._directory.get(person.username)
        if record.disabled:
            raise ProvisioningRefused("disabled", "this account is disabled in Vigil; ask your Vigil administrator")

    def _sign_in(
        self,
        issuer: Issuer,
        username: str,
        identity: UpstreamIdentity,
        pending_id: str,
        pending: PendingAuthorization,
        source_ip: str | None,
        client_id: str | None,
    ) -> FederatedSignIn:
        if issuer.sign_in is None:
            raise FederationError("people's sign-in is not configured on this issuer")
        # `fed`, then what the upstream reports it checked (`pwd`, `otp`, ...): the ID token's `acr` says MFA only
        # when the upstream says a second factor was used.
        upstream_amr = identity.claims.get("amr")
        reported = [m for m in upstream_amr if isinstance(m, str)][:8] if isinstance(upstream_amr, list) else []
        # The same way in as a password sign-in: a fresh issuer session, the sign-in event, the request resumed.
        step = issuer.sign_in.complete(pending_id, pending, username, (FEDERATED_AMR, *reported), source_ip, client_id)
        return FederatedSignIn(username=username, pending_id=pending_id, step=step)

    # -- the kept upstream grant ----------------------------------------------------------------------------------
    def _grant_key(self, username: str) -> str:
        return f"{self._prefix}:grant:{digest(username)}"

    def _keep_grant(self, username: str, upstream: str, identity: UpstreamIdentity) -> None:
        if identity.refresh_token is None:
            # Nothing to ask again with: the person is refused at their first refresh (documented limit).
            self._redis.delete(self._grant_key(username))
            return
        sealed = self._sealer.seal(identity.refresh_token.get_secret_value().encode(), f"federation:{username}")
        grant = Grant(
            upstream=upstream,
            sealed_refresh_token=base64.b64encode(sealed).decode("ascii"),
            verified_at=time.time(),
        )
        self._redis.set(self._grant_key(username), grant.model_dump_json(), ex=self.settings.oauth.person_session_ttl)

    def _grant(self, username: str) -> tuple[Grant, SecretStr] | None:
        raw = cast(bytes | str | None, self._redis.get(self._grant_key(username)))
        if raw is None:
            return None
        grant = Grant.model_validate_json(raw)
        try:
            token = self._sealer.open(base64.b64decode(grant.sealed_refresh_token), f"federation:{username}")
        except (KeyStoreError, ValueError):
            return None
        return grant, SecretStr(token.decode())

    # -- 3. at each refresh ---------------------------------------------------------------------------------------
    def still_allowed(self, account: Account) -> bool:
        """`UpstreamCheck`: a local person passes; a federated one only if their upstream still vouches for them."""
        if account.source == "local":
            return True
        issuer = account.source.removeprefix("federated:")
        name = self._by_issuer.get(issuer)
        kept = self._grant(account.subject)
        if name is None or kept is None or kept[0].upstream != name:
            return self._refuse(account.subject, issuer, "no_upstream_grant", forget=False)
        grant, token = kept
        if time.time() - grant.verified_at < self.settings.federation.recheck_after:
            return True
        settings = self.providers[name].settings
        try:
            identity = self.providers[name].refresh(token)
            person = provision_from_claims(settings, identity.claims)
            if person.username != account.subject:
                raise ProvisioningRefused("subject_changed", "the upstream now names another e-mail address")
            self._provision(settings, person, None)
        except FederationError as exc:
            return self._refuse(account.subject, issuer, exc.reason, forget=True)
        if identity.refresh_token is None:
            # Keycloak and most providers return the same or a rotated token; keep the old one if none came back.
            identity = identity.model_copy(update={"refresh_token": token})
        self._keep_grant(account.subject, name, identity)
        return True

    def _refuse(self, username: str, issuer: str, reason: str, *, forget: bool) -> bool:
        if forget:
            self._redis.delete(self._grant_key(username))
        self._directory.events.session_revoked(username, actor=f"federation:{issuer}"[:256], reason=reason)
        return False


def build_federation(settings: EdgeAuthSettings, client: redis.Redis, *, audit: AuditSink | None = None) -> Federation:
    """The federation over the people directory in Redis; its events go to `audit` (siem's `audit` dataset)."""
    return Federation(settings, client, directory=PeopleDirectory.from_settings(settings, client, audit=audit))
