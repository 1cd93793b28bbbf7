"""`vigil users ...` against the real Redis, under a per-test namespace: lifecycle, TOTP enrolment, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pyotp
import pytest
import redis
from pydantic import SecretStr
from typer.testing import CliRunner

from edgeauth import Sealer
from edgeauth.people import PeopleDirectory, RedisUserStore
from edgeauth.settings import PeopleSettings
from tests.vigil.cli_errors import one_line_error
from vigil.commands import app

pytestmark = pytest.mark.integration

PASSWORD = "violet-harbour-gravel-37"
KEK = "cli-users-test-kek"


@pytest.fixture
def env(redis_namespace: str) -> dict[str, str]:
    return {
        "VIGIL_NAMESPACE": redis_namespace,
        "VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY": KEK,
        "VIGIL_EDGEAUTH__PEOPLE__ARGON2_MEMORY_KIB": "8192",
        "VIGIL_EDGEAUTH__PEOPLE__ARGON2_TIME_COST": "1",
        "VIGIL_EDGEAUTH__PEOPLE__ARGON2_PARALLELISM": "1",
    }


@pytest.fixture
def directory(redis_conn: redis.Redis, redis_namespace: str) -> PeopleDirectory:
    cheap = PeopleSettings(argon2_memory_kib=8192, argon2_time_cost=1, argon2_parallelism=1)
    store = RedisUserStore(redis_conn, f"{redis_namespace}:edgeauth")
    return PeopleDirectory(store, sealer=Sealer(SecretStr(KEK)), settings=cheap)


def runner_for(env: dict[str, str]) -> Callable[..., str]:
    runner = CliRunner()

    def run(*args: str, input: Any = None) -> str:
        result = runner.invoke(app, list(args), env=env, input=input)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout

    return run


def test_user_lifecycle(env: dict[str, str], directory: PeopleDirectory, redis_conn: redis.Redis) -> None:
    run = runner_for(env)
    created = json.loads(
        run(
            "users",
            "create",
            "alice",
            "--role",
            "admin",
            "--password-stdin",
            "--actor",
            "root",
            "--json",
            input=PASSWORD + "\n",
        )
    )
    assert created["roles"] == ["admin"]
    assert created["created_by"] == "root"
    # Prompted twice, never echoed.
    prompted = run(
        "users",
        "create",
        "ana",
        "--role",
        "analyst",
        "--display-name",
        "Ana Lyst",
        "--actor",
        "alice",
        input=f"{PASSWORD}-2\n{PASSWORD}-2\n",
    )
    assert PASSWORD not in prompted
    run(
        "users",
        "create",
        "kim",
        "--role",
        "auditor",
        "--engagement-from",
        "2026-01-01T00:00:00+00:00",
        "--engagement-to",
        "2036-01-01T00:00:00+00:00",
        "--password-stdin",
        input=f"{PASSWORD}-3\n",
    )
    run("users", "disable", "ana", "--actor", "bob")
    run("users", "enable", "ana", "--actor", "carol")
    run("users", "set-roles", "ana", "--role", "analyst", "--role", "auditor", "--actor", "dave")
    run("users", "reset-password", "ana", "--password-stdin", "--actor", "erin", input="another-long-passphrase-9\n")
    run("users", "set-engagement", "kim", "--clear", "--actor", "frank")
    shown = json.loads(run("users", "show", "ana", "--history", "--json"))
    assert shown["roles"] == ["analyst", "auditor"]
    assert shown["display_name"] == "Ana Lyst"
    assert [(e["action"], e["actor"]) for e in shown["history"]] == [
        ("create", "alice"),
        ("disable", "bob"),
        ("enable", "carol"),
        ("set-roles", "dave"),
        ("reset-password", "erin"),
    ]
    assert json.loads(run("users", "show", "kim", "--json"))["engagement"] is None
    listed = run("users", "list")
    assert [line.split()[0] for line in listed.splitlines()] == ["alice", "ana", "kim"]
    assert "argon2" not in listed + json.dumps(shown)
    assert directory.authenticate("ana", "another-long-passphrase-9").roles == ("analyst", "auditor")
    # The changes reached the SIEM's queue as audit records, with the acting admins' names.
    queued = b"".join(
        value
        for key in redis_conn.scan_iter(match=f"{env['VIGIL_NAMESPACE']}*")
        if redis_conn.type(key) == b"stream"
        for _id, fields in cast(list[tuple[bytes, dict[bytes, bytes]]], redis_conn.xrange(key))
        for value in fields.values()
    )
    for action, actor in (("user-created", "alice"), ("user-disabled", "bob"), ("user-password-reset", "erin")):
        assert action.encode() in queued
        assert f'"actor":"{actor}"'.encode() in queued
    assert PASSWORD.encode() not in queued


def test_totp_enrolment_shows_the_code_once_and_reset_mfa_forgets_it(
    env: dict[str, str], directory: PeopleDirectory, tmp_path: Path
) -> None:
    run = runner_for(env)
    run("users", "create", "alice", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")

    svg = tmp_path / "qr.svg"
    # A real process: the test reads the secret it prints, as a person's phone would scan it, and answers the prompt.
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil.cli", "users", "enrol-totp", "alice", "--qr-svg", str(svg), "--json"],
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    assert proc.stderr is not None
    shown = []
    for line in proc.stderr:
        shown.append(line)
        if "secret in the app:" in line:
            break
    secret = shown[-1].rsplit(":", 1)[1].strip()
    assert any("\u2580" in line or "\u2584" in line for line in shown)  # the terminal QR code
    out, err = proc.communicate(pyotp.TOTP(secret).now() + "\n", timeout=60)
    assert proc.returncode == 0, err
    codes = json.loads(out)["recovery_codes"]
    assert len(codes) == 10
    assert svg.read_text().startswith("<svg")
    assert json.loads(run("users", "show", "alice", "--json"))["mfa"] == "totp"
    assert directory.verify_second_factor("alice", codes[0]) == "recovery_code"
    renewed = json.loads(run("users", "recovery-codes", "alice", "--json"))["recovery_codes"]
    assert len(renewed) == 10
    assert not set(renewed) & set(codes)
    assert directory.show("alice").recovery_codes_left == 10
    assert not any(c in run("users", "show", "alice", "--history") for c in codes + renewed)
    rotated = {
        **env,
        "VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY": "cli-users-next-kek",
        "VIGIL_EDGEAUTH__PREVIOUS_KEY_ENCRYPTION_KEYS": json.dumps([KEK]),
    }
    assert "1 TOTP secret(s)" in runner_for(rotated)("keys", "reseal")
    record = directory.get("alice")
    assert record.totp is not None
    opened = Sealer(SecretStr("cli-users-next-kek")).open_text(
        record.totp.sealed_secret.get_secret_value(), "edgeauth:people:totp:alice"
    )
    assert opened.decode() == secret
    run("users", "reset-mfa", "alice", "--actor", "root")
    assert json.loads(run("users", "show", "alice", "--json"))["mfa"] == "none"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "show", "ghost"], "", "no user 'ghost'"),
        (["users", "create", "Bad Name", "--role", "admin", "--password-stdin"], PASSWORD, "user name"),
        (["users", "create", "x", "--role", "root", "--password-stdin"], PASSWORD, "--role 'root'"),
        (["users", "create", "x", "--role", "admin", "--password-stdin"], "Password123!", "commonly used"),
        (["users", "create", "x", "--role", "admin", "--password-stdin"], "", "held no password"),
        (
            [
                "users",
                "create",
                "x",
                "--role",
                "analyst",
                "--engagement-from",
                "2026-01-01T00:00:00+00:00",
                "--engagement-to",
                "2026-02-01T00:00:00+00:00",
                "--password-stdin",
            ],
            PASSWORD,
            "auditors only",
        ),
        (
            [
                "users",
                "create",
                "x",
                "--role",
                "auditor",
                "--engagement-from",
                "2026-01-01",
                "--engagement-to",
                "2026-02-01",
                "--password-stdin",
            ],
            PASSWORD,
            "timezone",
        ),
        (["users", "set-engagement", "ghost"], "", "--clear"),
        (["users", "enrol-totp", "ghost"], "", "no user 'ghost'"),
        (["users", "reset-password", "ghost", "--password-stdin"], PASSWORD, "no user 'ghost'"),
    ],
)
def test_bad_input_is_one_line_without_traceback(
    env: dict[str, str], args: list[str], stdin: str, message: str
) -> None:
    shown = one_line_error(args, env, stdin + "\n" if stdin else "")
    assert message in shown
    if stdin:
        assert stdin not in shown


def test_there_is_no_password_option(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["users", "create", "x", "--role", "admin", "--password", PASSWORD], env=env)
    assert result.exit_code == 2
    assert "No such option" in result.output
