"""Registering Vigil's own first-party clients with its issuer: the console (confidential) and `vigil login`
(public, RFC 8252 loopback).

Who calls it: `vigil console register` and the demo's setup. Idempotent: a client that exists with the expected
redirect URIs is left alone; the console's secret, returned once by the registry, is kept only sealed in Redis
(`keyring.console_client_secret`) and never printed. A console client whose secret was lost (a wiped Redis key)
gets a rotated one.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from edgeauth import AuditSink
from edgeauth.issuer import ClientRegistry
from vigil import keyring
from vigil.clients import redis_client
from vigil.console.errors import NotRegistered
from vigil.console.signin import ConsoleClient
from vigil.settings import VigilSettings
from vigil.signin.native import CLI_CLIENT_ID

# Everything a console page or `vigil --remote` may need; what a token carries is cut to the person's roles.
PEOPLE_SCOPES = ("alerts:read", "alerts:triage", "hunt:run", "rules:admin", "evidence:read", "compliance:read")
CLI_REDIRECT_URI = "http://127.0.0.1/callback"  # any port (RFC 8252 7.3): the CLI listens where it can


@dataclass(frozen=True)
class Registered:
    client_id: str
    outcome: str  # "created", "secret rotated", "unchanged"


def console_client(settings: VigilSettings) -> ConsoleClient:
    """The console's relying party as the app builds it (its redirect URIs are what registration registers)."""
    return ConsoleClient(settings.console, settings.edgeauth.issuer, keyring.console_client_secret(settings).get)


def register_first_party(settings: VigilSettings, *, actor: str, audit: AuditSink | None = None) -> list[Registered]:
    """Make sure the console's and the CLI's clients exist at Vigil's issuer; returns what was done to each."""
    if settings.console.issuer and settings.console.issuer.rstrip("/") != settings.edgeauth.issuer.rstrip("/"):
        raise NotRegistered(
            f"the console signs in at {settings.console.issuer}, not at Vigil's issuer: register it there "
            "and set VIGIL_CONSOLE__CLIENT_SECRET"
        )
    registry = ClientRegistry.from_settings(settings.edgeauth, redis_client(settings), audit=audit)
    scopes = [s for s in PEOPLE_SCOPES if s in settings.edgeauth.oauth.scopes_supported]
    audiences = list(settings.edgeauth.audiences)
    console = console_client(settings)
    secret = keyring.console_client_secret(settings)
    done: list[Registered] = []

    client_id = settings.console.client_id
    existing = registry.store.get(client_id)
    if existing is None:
        issued = registry.create(
            client_id,
            actor=actor,
            scopes=scopes,
            audiences=audiences,
            refresh_tokens=True,
            redirect_uris=[console.redirect_uri],
            post_logout_redirect_uris=[console.post_logout_redirect_uri],
            first_party=True,
            description="the Vigil console (first-party, confidential)",
        )
        _keep(secret, issued.client_secret)
        done.append(Registered(client_id, "created"))
    else:
        _same_redirects(client_id, existing.redirect_uris, (console.redirect_uri,))
        if secret.get() is None and settings.console.client_secret is None:
            rotated = registry.rotate(client_id, actor=actor)
            _keep(secret, rotated.client_secret)
            done.append(Registered(client_id, "secret rotated"))
        else:
            done.append(Registered(client_id, "unchanged"))

    cli = registry.store.get(CLI_CLIENT_ID)
    if cli is None:
        registry.create(
            CLI_CLIENT_ID,
            actor=actor,
            scopes=scopes,
            audiences=audiences,
            refresh_tokens=True,
            redirect_uris=[CLI_REDIRECT_URI],
            public=True,
            first_party=True,
            description="vigil login (first-party, public native client, RFC 8252)",
        )
        done.append(Registered(CLI_CLIENT_ID, "created"))
    else:
        _same_redirects(CLI_CLIENT_ID, cli.redirect_uris, (CLI_REDIRECT_URI,))
        done.append(Registered(CLI_CLIENT_ID, "unchanged"))
    return done


def _keep(store: keyring.SealedSecret, secret: SecretStr | None) -> None:
    if secret is None:
        raise NotRegistered("the issuer returned no secret for the console's client (is it a public client?)")
    store.put(secret)


def _same_redirects(client_id: str, registered: tuple[str, ...], wanted: tuple[str, ...]) -> None:
    """A client registered under this id for other redirect URIs is someone else's, or an older public URL."""
    if not set(wanted) <= set(registered):
        raise NotRegistered(
            f"client {client_id} exists with redirect URIs {', '.join(registered) or 'none'}, not {', '.join(wanted)}"
            f": check VIGIL_CONSOLE__PUBLIC_URL, or disable that client and choose another VIGIL_CONSOLE__CLIENT_ID"
        )
