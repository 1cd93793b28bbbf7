"""OpenID Connect RP-Initiated Logout 1.0: `end_session_endpoint`.

A relying party sends the browser here with `id_token_hint` (an ID token we issued; an expired one still names
the session), optionally `post_logout_redirect_uri` (must be registered for that client, exactly) and `state`.
The issuer session ends, every refresh-token family started from it is revoked (with the access tokens they
minted), and the browser goes back to the client, or sees a "signed out" page. Without a valid hint nothing is
ended on a GET: the person confirms on a page whose form carries a token derived from their own session cookie,
so another site cannot sign them out (or send them anywhere) by linking here.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from edgeauth import rfc8725
from edgeauth.errors import VerificationError
from edgeauth.issuer.refresh import RefreshTokenStore
from edgeauth.issuer.registry import ClientRegistry
from edgeauth.issuer.sessions import BrowserState, SignInSession
from edgeauth.issuer.tokens import SigningKeys
from edgeauth.keys import load_jwks

MAX_HINT_BYTES = 8192


@dataclass(frozen=True)
class Logout:
    """What the web adapter does: redirect to the client, or render `page` (`confirm_logout`, `signed_out`, `error`)."""

    redirect: str | None = None
    page: str = "signed_out"
    status: int = 200
    message: str = ""
    ended: SignInSession | None = None
    client_id: str | None = None


def confirmation_token(cookie: str) -> str:
    """The confirm form's token: only a page that could read this browser's own session cookie can know it."""
    return hashlib.sha256(b"vigil-end-session\x00" + cookie.encode("utf-8", "surrogatepass")).hexdigest()


class EndSession:
    def __init__(
        self,
        *,
        issuer: str,
        keys: SigningKeys,
        algorithms: tuple[str, ...],
        registry: ClientRegistry,
        browser: BrowserState,
        refresh_tokens: RefreshTokenStore,
        family_ttl: int,
    ) -> None:
        self._issuer = issuer
        self._keys = keys
        self._algorithms = list(algorithms)
        self._registry = registry
        self._browser = browser
        self._refresh_tokens = refresh_tokens
        self._family_ttl = family_ttl

    def hint_claims(self, hint: str) -> dict[str, Any] | None:
        """The claims of an ID token this issuer signed (expiry not checked: RP-Initiated Logout 2), else None."""
        try:
            parsed = rfc8725.parse_assertion(hint, max_bytes=MAX_HINT_BYTES, allowed_algorithms=self._algorithms)
        except VerificationError:
            return None
        key = load_jwks(self._keys.publishable_jwks()).get(parsed.kid or "")
        if key is None or key.alg != parsed.alg or not key.verify(parsed.signing_input, parsed.signature):
            return None
        claims = parsed.claims
        if claims.get("iss") != self._issuer or not isinstance(claims.get("sub"), str):
            return None
        return claims

    def end(self, params: dict[str, str], cookie: str | None, *, confirmed: str | None = None) -> Logout:
        hint = params.get("id_token_hint")
        claims = self.hint_claims(hint) if hint else None
        if hint and claims is None:
            return Logout(page="error", status=400, message="id_token_hint is not an ID token of this issuer")
        client_id = params.get("client_id") or (_audience(claims) if claims else None)
        if claims and params.get("client_id") and params["client_id"] != _audience(claims):
            return Logout(page="error", status=400, message="client_id does not match the id_token_hint")
        redirect = self._post_logout_redirect(params, client_id)
        if isinstance(redirect, Logout):
            return redirect
        session = self._browser.session(cookie)
        by_hint = self._browser.session_by_sid(str(claims.get("sid", ""))) if claims else None
        # No proof the request comes from the client the person signed in to: ask them, unless they just did.
        if claims is None and session is not None and not _confirmed(confirmed, cookie):
            return Logout(page="confirm_logout", client_id=client_id)
        target = session or by_hint
        if claims and session is not None and session.subject != claims["sub"]:
            # The hint is someone else's: end only the session it names, never this browser's other person.
            target = by_hint if by_hint is not None and by_hint.subject == claims["sub"] else None
        if target is not None:
            self._end(target)
        if redirect is not None:
            state = params.get("state")
            return Logout(
                redirect=_with_query(redirect, {"state": state} if state else {}), ended=target, client_id=client_id
            )
        return Logout(page="signed_out", ended=target, client_id=client_id)

    def _end(self, session: SignInSession) -> None:
        for family in self._browser.end(session.sid):
            # The family's own expiry is not kept with the session; a revocation marker outliving it is harmless.
            self._refresh_tokens.revoke_family(family, session.expires_at + self._family_ttl)

    def _post_logout_redirect(self, params: dict[str, str], client_id: str | None) -> str | Logout | None:
        uri = params.get("post_logout_redirect_uri")
        if not uri:
            return None
        if client_id is None:
            return Logout(page="error", status=400, message="post_logout_redirect_uri needs id_token_hint or client_id")
        record = self._registry.store.get(client_id) if client_id.isascii() and len(client_id) <= 64 else None
        if record is None or uri not in record.post_logout_redirect_uris:
            return Logout(
                page="error", status=400, message="post_logout_redirect_uri is not registered for this client"
            )
        return uri


def _confirmed(confirmed: str | None, cookie: str | None) -> bool:
    return confirmed is not None and cookie is not None and hmac.compare_digest(confirmed, confirmation_token(cookie))


def _audience(claims: dict[str, Any]) -> str | None:
    azp = claims.get("azp")
    if isinstance(azp, str):
        return azp
    aud = claims.get("aud")
    if isinstance(aud, str):
        return aud
    if isinstance(aud, list) and len(aud) == 1 and isinstance(aud[0], str):
        return aud[0]
    return None


def _with_query(uri: str, extra: dict[str, str]) -> str:
    if not extra:
        return uri
    parts = urlsplit(uri)
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit(parts._replace(query=query))
