"""`vigil keys list | rotate | withdraw | reseal | rotate-secret-key`: edgeauth signing keys, rotation, emergency
withdrawal, key-encryption-key rotation, and the server key of client-secret hashes."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from edgeauth import KeyStore
from edgeauth.issuer import rotate_if_due
from vigil import keyring
from vigil.audit import actor_name, command_audit
from vigil.clients import redis_client
from vigil.settings import load_settings

app = typer.Typer(help="Inspect and rotate the signing keys of the edgeauth issuer.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _store() -> KeyStore:
    settings = load_settings()
    return KeyStore(redis_client(settings), settings.edgeauth)


@app.command(name="list")
def list_keys(
    history: Annotated[bool, typer.Option(help="Print the rotation log instead of the keys.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Every key with its state (next, active, retired, removed), or the rotation log."""
    store = _store()
    if history:
        records = store.history()
        if as_json:
            typer.echo(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
            return
        for r in records:
            typer.echo(f"{r.timestamp.isoformat()} {r.kid} {r.alg} {r.from_state or '-'} -> {r.to_state} ({r.reason})")
        return
    keys = store.inventory()
    if as_json:
        typer.echo(json.dumps([k.model_dump(mode="json") for k in keys], indent=2))
        return
    for k in keys:
        activated = k.activated_at.isoformat() if k.activated_at else "-"
        typer.echo(f"{k.kid} {k.alg:<6} {k.state:<8} created {k.created_at.isoformat()} activated {activated}")


@app.command()
def rotate(
    force: Annotated[
        bool, typer.Option(help="Rotate now even if the successor is freshly published (emergency).")
    ] = False,
    if_due: Annotated[
        bool, typer.Option("--if-due", help="Rotate only when the rotation interval has passed.")
    ] = False,
    reason: Annotated[str, typer.Option(help="Recorded in the rotation log.")] = "manual",
    actor: Annotated[str | None, typer.Option(help="Who rotates (audit trail); default: login name.")] = None,
) -> None:
    """Promote the published successor key to signing, retire the current one, publish a new successor."""
    settings = load_settings()
    with command_audit(settings) as audit:
        store = KeyStore(redis_client(settings), settings.edgeauth, audit=audit)
        if if_due:
            outcome = rotate_if_due(store, interval=settings.edgeauth.oauth.key_rotation_interval)
            verb = "rotated" if outcome.rotated else "not rotated"
            typer.echo(f"{verb}: active {outcome.active_kid}; {outcome.detail}")
            return
        promoted = store.rotate(reason, force=force, actor=actor_name(actor))
    typer.echo(f"rotated: active {promoted.kid} ({promoted.alg})")


@app.command()
def withdraw(
    kid: Annotated[str, typer.Argument(help="The key id (`vigil keys list`).")],
    reason: Annotated[str, typer.Option(help="Recorded in the rotation log (say what happened).")] = "compromise",
    actor: Annotated[str | None, typer.Option(help="Who withdraws (audit trail); default: login name.")] = None,
) -> None:
    """Take a key out of the JWKS now (compromise): every edge refuses its tokens within a stream round trip.

    Withdrawing the signing key first promotes its successor (a forced rotation).
    """
    settings = load_settings()
    with command_audit(settings) as audit:
        store = KeyStore(redis_client(settings), settings.edgeauth, audit=audit)
        withdrawn = store.withdraw(kid, reason, actor=actor_name(actor))
    typer.echo(f"withdrawn: {withdrawn.kid} ({withdrawn.alg}); its tokens are refused from now on")


@app.command()
def reseal() -> None:
    """After changing the key-encryption key (old one in PREVIOUS_KEY_ENCRYPTION_KEYS): re-seal every kept secret."""
    done = keyring.reseal_all(load_settings())
    typer.echo(
        f"resealed under the current key-encryption key: {done.edgeauth_keys} edgeauth key(s), "
        f"{done.secret_hash_keys} client-secret server key(s), {done.evidence_keys} evidence key(s), "
        f"{done.totp_secrets} TOTP secret(s), CSRF key {'yes' if done.csrf_key else 'already current'}, "
        f"{done.console_keys} console secret(s)"
    )


@app.command(name="rotate-secret-key")
def rotate_secret_key(
    actor: Annotated[str | None, typer.Option(help="Who rotates (audit trail); default: login name.")] = None,
) -> None:
    """Make a new server key current for client-secret hashes; each client moves to it at its next sign-in.

    The old keys are kept, so no client loses access; every replica picks the new key up within seconds.
    """
    settings = load_settings()
    with command_audit(settings) as audit:
        keys = keyring.secret_hash_keys(settings, audit)
        before = keys.kids()
        kid = keys.rotate(actor=actor_name(actor))
    typer.echo(f"client-secret server key rotated: {kid} is current; {len(before)} older key(s) kept for checking")
