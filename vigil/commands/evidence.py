"""`vigil evidence verify-locker | bundle | verify | pubkey | rotate-key`: the evidence locker and its bundles."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import httpx
import typer

from evidence import (
    BundleInfo,
    EvidenceArchive,
    EvidenceError,
    SigningKeyStore,
    VerificationReport,
    load_public_pem,
    verify_bundle,
)
from vigil import keyring
from vigil.clients import elasticsearch_client, redis_client
from vigil.commands.remote import RemoteFlag, remote_api
from vigil.commands.remote import refusal as _remote_refusal
from vigil.errors import VigilError
from vigil.indices import ensure_applied
from vigil.settings import VigilSettings, load_settings

app = typer.Typer(help="Evidence locker, signed bundles and their offline verification.", no_args_is_help=True)


class EvidenceCommandError(VigilError):
    """An evidence command failed; the message comes from the evidence package."""


class BundleRejectedError(VigilError):
    """Offline verification found problems (each printed above)."""


@contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except EvidenceError as exc:
        raise EvidenceCommandError(str(exc)) from None


def _archive(settings: VigilSettings) -> EvidenceArchive:
    ensure_applied(elasticsearch_client(settings), settings)
    return keyring.evidence_archive(settings)


def parse_moment(text: str, *, end_of_day: bool) -> datetime:
    """A date (`2026-03-01`, UTC; as an end, the whole day is included) or an RFC 3339 time with a zone."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, time(), tzinfo=UTC)
        return start + timedelta(days=1) if end_of_day else start
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise EvidenceCommandError(f"{text!r} is neither a date (YYYY-MM-DD) nor an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise EvidenceCommandError(f"{text!r} has no time zone; add Z or an offset")
    return moment.astimezone(UTC)


@app.command("verify-locker")
def verify_locker(
    content: Annotated[bool, typer.Option(help="Also re-hash every content file.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Walk the locker's hash chain and name every break (holes, edits, reordering, removed head, altered files)."""
    with _one_line():
        report = _archive(load_settings()).locker.verify(check_content=content)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        for problem in report.problems:
            typer.echo(f"PROBLEM {problem}")
        head = f"head {report.head.sequence} {report.head.entry_hash}" if report.head else "empty"
        typer.echo(f"{'OK' if report.ok else 'BROKEN'}: {report.entries} entries, {head}")
    if not report.ok:
        raise EvidenceCommandError(f"the locker chain is broken ({len(report.problems)} problem(s))")


@app.command()
def bundle(
    period_from: Annotated[str, typer.Option("--from", help="Start: a date (UTC) or RFC 3339 time, included.")],
    period_to: Annotated[str, typer.Option("--to", help="End: a date (that whole day included) or RFC 3339 time.")],
    controls: Annotated[
        list[str] | None, typer.Option("--controls", help="Only items supporting these control ids (repeatable).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Where to copy the bundle out of the shared store: a folder or a file.")
    ] = Path(),
    remote: Annotated[bool, RemoteFlag] = False,
) -> None:
    """Build a signed, deterministic bundle for a period (and controls) into the store; save a copy, print digest."""
    start, end = parse_moment(period_from, end_of_day=False), parse_moment(period_to, end_of_day=True)
    wanted = tuple(c for value in controls or () for c in value.split(",") if c.strip())
    if not (out.is_dir() or out.parent.is_dir()):
        raise EvidenceCommandError(f"--out {out}: no such folder")
    if remote:
        info, saved = _remote_bundle(start, end, wanted, out)
    else:
        with _one_line():
            archive = _archive(load_settings())
            built = archive.build_bundle(start, end, wanted)
            saved = archive.export_bundle(built.info.name, out)
        info = built.info
    typer.echo(f"{saved}")
    typer.echo(
        f"sha256 {info.sha256}  {info.size} bytes  {info.items} item(s)  "
        f"sequences {info.first_sequence}..{info.last_sequence}  signed by {info.kid}"
    )


def _remote_bundle(start: datetime, end: datetime, controls: tuple[str, ...], out: Path) -> tuple[BundleInfo, Path]:
    """As the signed-in auditor: the API builds the bundle (inside their engagement) and it is downloaded whole."""
    request = {"from": start.isoformat(), "to": end.isoformat(), "controls": list(controls)}
    with remote_api() as api:
        info = BundleInfo.model_validate(api.json("POST", "/evidence/bundles", body=request))
        saved = out / info.name if out.is_dir() else out
        staging = saved.with_name(f".{saved.name}.part")
        digest = hashlib.sha256()
        try:
            with api.http.stream("GET", f"/evidence/bundles/{info.name}") as response, staging.open("wb") as handle:
                if response.status_code != 200:
                    response.read()
                    raise EvidenceCommandError(f"downloading {info.name}: {_remote_refusal(response)}")
                for chunk in response.iter_bytes():
                    digest.update(chunk)
                    handle.write(chunk)
        except httpx.HTTPError as exc:
            staging.unlink(missing_ok=True)
            raise EvidenceCommandError(f"downloading {info.name} failed: {exc}") from None
        except BaseException:
            staging.unlink(missing_ok=True)
            raise
    if digest.hexdigest() != info.sha256:
        staging.unlink(missing_ok=True)
        raise EvidenceCommandError(f"the downloaded {info.name} does not have the SHA-256 the API announced")
    staging.replace(saved)
    return info, saved


@app.command()
def verify(
    path: Annotated[Path, typer.Argument(help="The bundle or signed transparency report (.zip) to check.")],
    pubkey: Annotated[
        Path | None,
        typer.Option("--pubkey", help="PEM public key of the publisher (else the published keys in the key store)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Check a bundle or a signed report offline: signature, every hash, missing/extra files, unsafe names, the
    chain range (bundles)."""
    if not path.is_file():
        raise EvidenceCommandError(f"no such bundle file: {path}")
    settings = load_settings()
    with _one_line():
        report = _verify(path, pubkey, settings)
    if as_json:
        typer.echo(json.dumps({**report.model_dump(), "ok": report.ok}, indent=2))
    else:
        for problem in report.problems:
            typer.echo(f"PROBLEM {problem}")
        if report.ok and report.client is not None:
            typer.echo(
                f"OK: transparency report for client {report.client}, {report.files_checked} files,"
                f" signed by {report.kid}"
            )
        elif report.ok:
            typer.echo(f"OK: {report.items} item(s), {report.files_checked} files, signed by {report.kid}")
    if not report.ok:
        raise BundleRejectedError(f"{path.name} failed verification with {len(report.problems)} problem(s)")


def _verify(path: Path, pubkey: Path | None, settings: VigilSettings) -> VerificationReport:
    limit = settings.evidence.max_manifest_bytes
    if pubkey is not None:
        try:
            pem = pubkey.read_bytes()
        except OSError as exc:
            raise EvidenceCommandError(f"cannot read --pubkey {pubkey}: {exc.strerror}") from None
        return verify_bundle(path, pubkey=load_public_pem(pem), max_manifest_bytes=limit)
    # Public keys only: no key-encryption key needed, and any replica's ledger is the same.
    store = SigningKeyStore(redis_client(settings), settings.evidence.namespace)
    known = {k.kid: load_public_pem(k.public_key_pem.encode()) for k in store.public_keys()}
    return verify_bundle(path, public_keys=known, max_manifest_bytes=limit)


@app.command()
def pubkey(
    all_keys: Annotated[bool, typer.Option("--all", help="Every key ever used, retired ones included.")] = False,
) -> None:
    """Print the bundle signing public key (PEM), as published at /.well-known/vigil-evidence-keys.json."""
    with _one_line():
        store = keyring.evidence_archive(load_settings()).keys
        active = store.ensure()
        keys = store.public_keys() if all_keys else [active]
    for key in keys:
        if all_keys:
            retired = f" retired {key.retired_at.isoformat()}" if key.retired_at else ""
            typer.echo(f"# kid {key.kid} created {key.created_at.isoformat()}{retired}{' (active)' * key.active}")
        typer.echo(key.public_key_pem, nl=False)


@app.command("rotate-key")
def rotate_key() -> None:
    """Start signing with a new key; the old one is retired (still published) and the rotation is recorded."""
    with _one_line():
        new = _archive(load_settings()).rotate_key()
    typer.echo(f"active signing key {new.kid}")
