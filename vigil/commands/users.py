"""`vigil users create | disable | enable | reset-password | set-roles | set-engagement | list | show | enrol-totp |
recovery-codes | reset-mfa`: the people directory (docs/identity.md).

Passwords never travel in argv: they are prompted for without echo (twice) or read from standard input with
`--password-stdin`. Recovery codes are printed once, when TOTP enrolment is confirmed. Every change is audited with
the acting admin's name (`--actor`, default `cli:<login name>`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, cast, get_args

import typer

from edgeauth.people import InvalidUser, PeopleDirectory, PersonRole, RecoveryCodesIssued, User, qr_text
from vigil.audit import actor_name, command_audit
from vigil.clients import redis_client
from vigil.settings import load_settings

app = typer.Typer(help="Manage the people who sign in: users, passwords, second factor.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who makes the change (audit trail); default: login name.")]
UsernameArg = Annotated[str, typer.Argument(help="The user name.")]
Roles = Annotated[list[str], typer.Option("--role", help="admin, analyst or auditor (repeat for several).")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]


@contextmanager
def _directory() -> Iterator[PeopleDirectory]:
    """The directory, its changes audited into the SIEM before the command exits."""
    settings = load_settings()
    with command_audit(settings) as audit:
        yield PeopleDirectory.from_settings(settings.edgeauth, redis_client(settings), audit=audit)


def _roles(given: list[str]) -> list[PersonRole]:
    known = get_args(PersonRole)
    for role in given:
        if role not in known:
            raise InvalidUser(f"--role {role!r}: one of {', '.join(known)}")
    return [cast(PersonRole, role) for role in given]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            raise InvalidUser("--password-stdin: standard input held no password")
        return password
    entered: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return entered


def _moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidUser(f"{option}: {value!r} is not an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise InvalidUser(f"{option}: give a timezone offset, e.g. {value}+00:00")
    return moment


def _window(starts: str | None, ends: str | None, names: tuple[str, str]) -> tuple[datetime, datetime] | None:
    if (starts is None) != (ends is None):
        raise InvalidUser(f"give both {names[0]} and {names[1]}, or neither")
    if starts is None or ends is None:
        return None
    return _moment(starts, names[0]), _moment(ends, names[1])


def _print(user: User, as_json: bool) -> None:
    if as_json:
        typer.echo(user.model_dump_json(indent=2))
        return
    for name, value in user.model_dump().items():
        shown = " ".join(value) if isinstance(value, tuple) else value
        if isinstance(value, dict):
            shown = f"{value['from']} / {value['to']}"
        typer.echo(f"{name:<19} {'-' if shown in (None, '', ()) else shown}")


def _print_codes(issued: RecoveryCodesIssued, as_json: bool) -> None:
    codes = [c.get_secret_value() for c in issued.codes]
    if as_json:
        typer.echo(json.dumps({"username": issued.username, "recovery_codes": codes}, indent=2))
        return
    typer.echo("recovery codes (each works once; store them now, they are not shown again):")
    for code in codes:
        typer.echo(f"  {code}")


@app.command()
def create(
    username: UsernameArg,
    role: Roles,
    display_name: Annotated[str | None, typer.Option(help="Full name; default: the user name.")] = None,
    email: Annotated[str | None, typer.Option(help="Contact address.")] = None,
    engagement_from: Annotated[str | None, typer.Option(help="Engagement start (RFC 3339), auditors.")] = None,
    engagement_to: Annotated[str | None, typer.Option(help="Engagement end (RFC 3339), auditors.")] = None,
    password_stdin: PasswordStdin = False,
    actor: Actor = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a local user with a password (prompted for, or --password-stdin)."""
    PeopleDirectory.check_username(username)
    roles = _roles(role)
    window = _window(engagement_from, engagement_to, ("--engagement-from", "--engagement-to"))
    password = _password(password_stdin)
    with _directory() as directory:
        user = directory.create(
            username,
            actor=actor_name(actor),
            display_name=display_name,
            roles=roles,
            password=password,
            email=email,
            engagement=window,
        )
        needs_mfa = directory.requires_mfa(user)
    _print(user, as_json)
    if needs_mfa:
        typer.echo(f"({username} must sign in with a second factor: `vigil users enrol-totp {username}`)", err=True)


@app.command()
def disable(username: UsernameArg, actor: Actor = None, as_json: JsonFlag = False) -> None:
    """Refuse every further sign-in of the user."""
    with _directory() as directory:
        _print(directory.disable(username, actor=actor_name(actor)), as_json)


@app.command()
def enable(username: UsernameArg, actor: Actor = None, as_json: JsonFlag = False) -> None:
    """Allow a disabled user to sign in again."""
    with _directory() as directory:
        _print(directory.enable(username, actor=actor_name(actor)), as_json)


@app.command(name="reset-password")
def reset_password(
    username: UsernameArg, password_stdin: PasswordStdin = False, actor: Actor = None, as_json: JsonFlag = False
) -> None:
    """Set a new password (prompted for, or --password-stdin), checked against the password policy."""
    password = _password(password_stdin)
    with _directory() as directory:
        _print(directory.reset_password(username, password, actor=actor_name(actor)), as_json)


@app.command(name="set-roles")
def set_roles(username: UsernameArg, role: Roles, actor: Actor = None, as_json: JsonFlag = False) -> None:
    """Replace the user's roles."""
    with _directory() as directory:
        _print(directory.set_roles(username, _roles(role), actor=actor_name(actor)), as_json)


@app.command(name="set-engagement")
def set_engagement(
    username: UsernameArg,
    starts: Annotated[str | None, typer.Option("--from", help="Engagement start (RFC 3339 with offset).")] = None,
    ends: Annotated[str | None, typer.Option("--to", help="Engagement end (RFC 3339 with offset).")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Lift the engagement window.")] = False,
    actor: Actor = None,
    as_json: JsonFlag = False,
) -> None:
    """Set an auditor's engagement window (sign-ins outside it are refused), or lift it with --clear."""
    window = _window(starts, ends, ("--from", "--to"))
    if clear == (window is not None):
        raise InvalidUser("give --from and --to, or --clear")
    with _directory() as directory:
        _print(directory.set_engagement(username, window, actor=actor_name(actor)), as_json)


@app.command(name="list")
def list_users(as_json: JsonFlag = False) -> None:
    """Every user, without secrets."""
    with _directory() as directory:
        users = directory.list_users()
    if as_json:
        typer.echo(json.dumps([u.model_dump(mode="json") for u in users], indent=2))
        return
    for u in users:
        state = "disabled" if u.disabled else "enabled"
        typer.echo(f"{u.username:<24} {','.join(u.roles):<22} {state:<8} mfa:{u.mfa:<7} {u.source}")


@app.command()
def show(
    username: UsernameArg,
    history: Annotated[bool, typer.Option(help="Also print the user's change trail.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """One user, optionally with who changed it and when."""
    with _directory() as directory:
        user = directory.show(username)
        events = directory.history(username) if history else []
    if as_json:
        document = user.model_dump(mode="json")
        if history:
            document["history"] = [e.model_dump(mode="json") for e in events]
        typer.echo(json.dumps(document, indent=2))
        return
    _print(user, as_json=False)
    for e in events:
        typer.echo(f"{e.timestamp.isoformat()} {e.action:<14} by {e.actor} {e.detail}".rstrip())


@app.command(name="enrol-totp")
def enrol_totp(
    username: UsernameArg,
    qr_svg: Annotated[Path | None, typer.Option("--qr-svg", help="Also write the QR code as an SVG file.")] = None,
    actor: Actor = None,
    as_json: JsonFlag = False,
) -> None:
    """Start TOTP enrolment: show the QR code and secret, ask for a first code, print the recovery codes once."""
    with _directory() as directory:
        enrolment = directory.begin_totp_enrolment(username, actor=actor_name(actor))
        if qr_svg is not None:
            try:
                qr_svg.write_text(enrolment.qr_svg, encoding="utf-8")
            except OSError as exc:
                raise InvalidUser(f"--qr-svg {qr_svg}: {exc.strerror}") from None
        uri = enrolment.provisioning_uri.get_secret_value()
        typer.echo(qr_text(uri), err=True)
        typer.echo(f"scan the code, or enter this secret in the app: {enrolment.secret.get_secret_value()}", err=True)
        code: str = typer.prompt("Code shown by the app", err=True)
        issued = directory.confirm_totp(username, code, actor=actor_name(actor))
    _print_codes(issued, as_json)


@app.command(name="recovery-codes")
def recovery_codes(username: UsernameArg, actor: Actor = None, as_json: JsonFlag = False) -> None:
    """Replace the user's recovery codes (the old ones stop working) and print the new ones once."""
    with _directory() as directory:
        issued = directory.new_recovery_codes(username, actor=actor_name(actor))
    _print_codes(issued, as_json)


@app.command(name="reset-mfa")
def reset_mfa(username: UsernameArg, actor: Actor = None, as_json: JsonFlag = False) -> None:
    """Forget the user's TOTP and recovery codes (a lost phone); they enrol again."""
    with _directory() as directory:
        _print(directory.reset_mfa(username, actor=actor_name(actor)), as_json)
