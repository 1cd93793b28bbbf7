"""`vigil login | logout | whoami`: a person signs the CLI in through Vigil's OpenID Connect provider.

`login` is the native-app flow of RFC 8252 (a loopback redirect on 127.0.0.1 and PKCE); the refresh token goes to
`$XDG_CONFIG_HOME/vigil/credentials.json` (0600). No token is ever printed.
"""

from __future__ import annotations

import os
import sys
import threading
import webbrowser
from typing import Annotated

import typer

from vigil.settings import load_settings
from vigil.signin import CredentialStore, ProviderUnavailable
from vigil.signin.native import DEFAULT_WAIT_SECONDS, login, logout, remote_call
from vigil.signin.relying_party import RelyingParty


def _announce(url: str) -> None:
    typer.echo("Open this address in a browser to sign in to Vigil (it waits for you):", err=True)
    typer.echo(f"  {url}", err=True)


def _browser(url: str) -> bool:
    """Open the page in a graphical browser when this session has one; a headless box just shows the address.

    Never a terminal browser (lynx, w3m): it would hold the terminal, and the redirect it makes would wait for a
    listener that only answers once it returns. The opening runs beside the wait, so no browser can block it.
    """
    graphical = sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if not graphical:
        return False
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    threading.Thread(target=browser.open, args=(url,), daemon=True).start()
    return True


def login_command(
    issuer: Annotated[
        str | None, typer.Option("--issuer", help="The Vigil issuer URL (default: VIGIL_EDGEAUTH__ISSUER).")
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Only print the address to open (another machine, SSH).")
    ] = False,
    wait: Annotated[
        float, typer.Option("--wait", min=5, max=3600, help="Seconds to wait for the browser to come back.")
    ] = DEFAULT_WAIT_SECONDS,
) -> None:
    """Sign in as yourself: password (and second factor) on Vigil's own sign-in page, never a token to paste."""
    chosen = issuer or load_settings().edgeauth.issuer
    signin = login(
        chosen,
        store=CredentialStore(),
        announce=_announce,
        open_browser=None if no_browser else _browser,
        wait_seconds=wait,
    )
    typer.echo(f"Signed in to {signin.issuer} as {signin.subject} ({signin.display_name}).")


def logout_command() -> None:
    """Revoke the stored sign-in at the issuer and delete it from this machine."""
    store = CredentialStore()
    try:
        signin = logout(store)
    except ProviderUnavailable as exc:
        typer.echo(f"vigil: warning: signed out on this machine only: {exc}", err=True)
        sys.exit(1)
    typer.echo(f"Signed out {signin.subject} from {signin.issuer}; the sign-in was revoked.")


def whoami_command() -> None:
    """Who the stored sign-in speaks for, as the issuer sees it now (a refresh, then userinfo)."""
    store = CredentialStore()
    call = remote_call(store)
    signin = store.load()
    claims = RelyingParty(signin.issuer, signin.client_id).userinfo(call.access_token)
    name = claims.get("name") or signin.display_name
    typer.echo(f"{claims.get('sub', signin.subject)} ({name}) at {signin.issuer}")
    typer.echo(f"scopes: {signin.scope or '-'}")
    typer.echo(f"signed in since {signin.signed_in_at:%Y-%m-%d %H:%M:%S} UTC; credentials in {store.path}")
