"""`vigil clients create | rotate | disable | enable | scopes | list | show | review`: the edgeauth client registry.

A client secret is printed once, at creation or rotation, and never again: only its keyed hash is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from edgeauth.issuer import ClientPublic, ClientRegistry, InvalidClientDefinition, IssuedCredential, Role
from vigil.audit import actor_name, command_audit
from vigil.clients import redis_client
from vigil.settings import load_settings

app = typer.Typer(help="Manage the machine clients that may obtain edgeauth tokens.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who makes the change (audit trail); default: login name.")]
ClientIdArg = Annotated[str, typer.Argument(help="The client id.")]


@contextmanager
def _registry() -> Iterator[ClientRegistry]:
    """The registry, its changes audited into the SIEM before the command exits."""
    settings = load_settings()
    with command_audit(settings) as audit:
        yield ClientRegistry.from_settings(settings.edgeauth, redis_client(settings), audit=audit)


def _datetime(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidClientDefinition(f"{option}: {value!r} is not an RFC 3339 / ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise InvalidClientDefinition(f"{option}: give a timezone offset, e.g. {value}+00:00")
    return moment


def _jwks(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidClientDefinition(f"--jwks {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InvalidClientDefinition(f"--jwks {path}: not JSON ({exc})") from None


def _print(client: ClientPublic, as_json: bool) -> None:
    if as_json:
        typer.echo(client.model_dump_json(indent=2))
        return
    fields = client.model_dump()
    for name, value in fields.items():
        shown = " ".join(value) if isinstance(value, tuple) else value
        typer.echo(f"{name:<13} {'-' if shown in (None, '', ()) else shown}")


def _print_issued(issued: IssuedCredential, as_json: bool) -> None:
    secret = issued.client_secret.get_secret_value() if issued.client_secret else None
    if as_json:
        typer.echo(json.dumps({"client": issued.client.model_dump(mode="json"), "client_secret": secret}, indent=2))
        return
    _print(issued.client, as_json=False)
    if secret:
        typer.echo(f"client_secret {secret}")
        typer.echo("(the secret is shown this once; store it now)", err=True)


@app.command()
def create(
    client_id: ClientIdArg,
    role: Annotated[Role, typer.Option(help="Role label; gives the role's scopes unless --scope is used.")] = "custom",
    scope: Annotated[list[str] | None, typer.Option(help="Allowed scope (repeat for several).")] = None,
    audience: Annotated[list[str] | None, typer.Option(help="Allowed audience (repeat); default: edgeauth's.")] = None,
    jwks: Annotated[Path | None, typer.Option(help="Public JWKS file: the client uses private_key_jwt.")] = None,
    refresh_tokens: Annotated[bool, typer.Option(help="Also issue rotating refresh tokens.")] = False,
    engagement_from: Annotated[str | None, typer.Option(help="Engagement start (RFC 3339), auditors.")] = None,
    engagement_to: Annotated[str | None, typer.Option(help="Engagement end (RFC 3339), auditors.")] = None,
    description: Annotated[str, typer.Option(help="Free text.")] = "",
    redirect_uri: Annotated[
        list[str] | None, typer.Option(help="Sign people in (authorization code + PKCE): where codes may go (repeat).")
    ] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None, typer.Option(help="Where RP-initiated logout may send people back (repeat).")
    ] = None,
    public: Annotated[bool, typer.Option(help="No credential (a CLI, a native app): PKCE is its only proof.")] = False,
    first_party: Annotated[
        bool, typer.Option(help="Ours (console, vigil login): people are not asked to consent.")
    ] = False,
    actor: Actor = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a client; a secret client's secret is printed once."""
    if (engagement_from is None) != (engagement_to is None):
        raise InvalidClientDefinition("give both --engagement-from and --engagement-to, or neither")
    engagement = (
        (_datetime(engagement_from, "--engagement-from"), _datetime(engagement_to, "--engagement-to"))
        if engagement_from is not None and engagement_to is not None
        else None
    )
    settings = load_settings()
    with _registry() as registry:
        issued = registry.create(
            client_id,
            actor=actor_name(actor),
            role=role,
            scopes=scope or None,
            audiences=audience or list(settings.edgeauth.audiences),
            jwks=_jwks(jwks),
            refresh_tokens=refresh_tokens,
            engagement=engagement,
            description=description,
            redirect_uris=redirect_uri or (),
            post_logout_redirect_uris=post_logout_redirect_uri or (),
            public=public,
            first_party=first_party,
        )
    _print_issued(issued, as_json)


@app.command()
def rotate(
    client_id: ClientIdArg,
    jwks: Annotated[Path | None, typer.Option(help="New public JWKS (private_key_jwt clients).")] = None,
    actor: Actor = None,
    as_json: JsonFlag = False,
) -> None:
    """Replace a client's credential: a new secret (printed once) or a new public JWKS."""
    with _registry() as registry:
        issued = registry.rotate(client_id, actor=actor_name(actor), jwks=_jwks(jwks))
    _print_issued(issued, as_json)


@app.command()
def disable(client_id: ClientIdArg, actor: Actor = None, as_json: JsonFlag = False) -> None:
    """Refuse every further token request of the client (tokens already issued run out or can be revoked)."""
    with _registry() as registry:
        _print(registry.set_disabled(client_id, True, actor=actor_name(actor)), as_json)


@app.command()
def enable(client_id: ClientIdArg, actor: Actor = None, as_json: JsonFlag = False) -> None:
    """Allow a disabled client again."""
    with _registry() as registry:
        _print(registry.set_disabled(client_id, False, actor=actor_name(actor)), as_json)


@app.command()
def scopes(
    client_id: ClientIdArg,
    scope: Annotated[list[str], typer.Option(help="Allowed scope (repeat for several); replaces the current set.")],
    actor: Actor = None,
    as_json: JsonFlag = False,
) -> None:
    """Replace the scopes a client may request (tokens already issued keep theirs until they expire)."""
    with _registry() as registry:
        _print(registry.set_scopes(client_id, scope, actor=actor_name(actor)), as_json)


@app.command(name="list")
def list_clients(as_json: JsonFlag = False) -> None:
    """Every registered client, without credentials."""
    with _registry() as registry:
        clients = registry.list_clients()
    if as_json:
        typer.echo(json.dumps([c.model_dump(mode="json") for c in clients], indent=2))
        return
    for c in clients:
        state = "disabled" if c.disabled else "enabled"
        reviewed = c.reviewed_at.date().isoformat() if c.reviewed_at else "never"
        typer.echo(
            f"{c.client_id:<24} {c.role:<8} {state:<8} {c.auth_method:<15} reviewed:{reviewed} {' '.join(c.scopes)}"
        )


@app.command()
def show(
    client_id: ClientIdArg,
    history: Annotated[bool, typer.Option(help="Also print the client's audit trail.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """One client, optionally with who changed it and when."""
    with _registry() as registry:
        client = registry.show(client_id)
        events = registry.history(client_id) if history else []
    if as_json:
        document: dict[str, Any] = client.model_dump(mode="json")
        if history:
            document["history"] = [e.model_dump(mode="json") for e in events]
        typer.echo(json.dumps(document, indent=2))
        return
    _print(client, as_json=False)
    for e in events:
        typer.echo(f"{e.timestamp.isoformat()} {e.action:<8} by {e.actor} {e.detail}".rstrip())


@app.command()
def review(
    client_id: ClientIdArg,
    note: Annotated[str, typer.Option(help="What was checked.")] = "",
    actor: Actor = None,
    as_json: JsonFlag = False,
) -> None:
    """Record an access review: the client's access was checked and is still needed."""
    with _registry() as registry:
        _print(registry.review(client_id, actor=actor_name(actor), note=note), as_json)
