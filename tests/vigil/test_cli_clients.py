"""`vigil clients ...` and `vigil keys ...` against the real Redis, under a per-test key prefix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr
from typer.testing import CliRunner

from edgeauth import EdgeAuthSettings, SigningKey
from edgeauth.issuer import ClientRegistry
from tests.vigil.cli_errors import one_line_error
from vigil.commands import app

pytestmark = pytest.mark.integration


@pytest.fixture
def env(redis_namespace: str) -> dict[str, str]:
    return {
        "VIGIL_NAMESPACE": redis_namespace,
        "VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY": "cli-test-kek",
        "VIGIL_EDGEAUTH__KEY_PUBLISH_LEAD": "0",
    }


def test_client_lifecycle(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    created = json.loads(run("clients", "create", "ana", "--role", "analyst", "--actor", "alice", "--json"))
    secret = created["client_secret"]
    assert len(secret) >= 40
    assert created["client"]["scopes"] == ["alerts:read", "alerts:triage", "hunt:run"]
    assert secret not in run("clients", "show", "ana")
    assert secret not in run("clients", "list")
    rotated = json.loads(run("clients", "rotate", "ana", "--actor", "bob", "--json"))
    assert rotated["client_secret"] not in (None, secret)
    run("clients", "disable", "ana", "--actor", "carol")
    run("clients", "review", "ana", "--actor", "dave", "--note", "quarterly")
    shown = json.loads(run("clients", "show", "ana", "--history", "--json"))
    assert shown["disabled"] is True
    assert shown["reviewed_by"] == "dave"
    assert [(e["action"], e["actor"]) for e in shown["history"]] == [
        ("create", "alice"),
        ("rotate", "bob"),
        ("disable", "carol"),
        ("review", "dave"),
    ]
    listed = run("clients", "list")
    assert "ana" in listed
    assert "disabled" in listed

    key = SigningKey.generate("EdDSA")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.public_jwk()]}))
    output = run(
        "clients",
        "create",
        "aud-1",
        "--role",
        "auditor",
        "--jwks",
        str(jwks),
        "--engagement-from",
        "2026-01-01T00:00:00+00:00",
        "--engagement-to",
        "2026-03-31T00:00:00+00:00",
    )
    assert "client_secret" not in output
    assert "private_key_jwt" in output
    assert key.kid in output


def test_keys_list_and_rotate(env: dict[str, str]) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["keys", "rotate", "--reason", "test"], env=env)
    assert first.exit_code == 0, first.output
    listed = runner.invoke(app, ["keys", "list", "--json"], env=env)
    states = sorted(k["state"] for k in json.loads(listed.output))
    assert states == ["active", "next", "retired"]
    log = runner.invoke(app, ["keys", "list", "--history"], env=env)
    assert "(test)" in log.output
    not_due = runner.invoke(app, ["keys", "rotate", "--if-due"], env=env)
    assert not_due.output.startswith("not rotated")
    active = next(k["kid"] for k in json.loads(listed.output) if k["state"] == "active")
    withdrawn = runner.invoke(app, ["keys", "withdraw", active, "--reason", "leaked"], env=env)
    assert withdrawn.exit_code == 0, withdrawn.output
    after = {k["kid"]: k["state"] for k in json.loads(runner.invoke(app, ["keys", "list", "--json"], env=env).output)}
    assert after[active] == "removed"
    assert sorted(after.values()).count("active") == 1


def test_rotate_secret_key_keeps_existing_secrets_valid(
    env: dict[str, str], redis_conn: redis.Redis, redis_namespace: str
) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["clients", "create", "svc", "--role", "ingest", "--json"], env=env)
    assert created.exit_code == 0, created.output
    secret = json.loads(created.output)["client_secret"]
    rotated = runner.invoke(app, ["keys", "rotate-secret-key", "--actor", "erin"], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert "1 older key(s) kept" in rotated.output
    settings = EdgeAuthSettings(namespace=redis_namespace, key_encryption_key=SecretStr("cli-test-kek"))
    registry = ClientRegistry.from_settings(settings, redis_conn)
    assert registry.authenticate(registry.get("svc"), secret)
    new_kid = rotated.output.split()[4]
    stored = registry.get("svc").secret_hash
    assert stored is not None
    assert stored.get_secret_value().split("$")[1] == new_kid


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["clients", "show", "ghost"], "no client 'ghost'"),
        (["clients", "create", "bad id"], "client_id"),
        (["clients", "create", "x", "--scope", "nope"], "unknown scope"),
        (["clients", "create", "x", "--engagement-from", "2026-01-01"], "both"),
        (["clients", "create", "x", "--engagement-from", "2026-01-01", "--engagement-to", "2026-02-01"], "timezone"),
        (["clients", "create", "x", "--jwks", "/nonexistent/jwks.json"], "--jwks"),
        (["keys", "withdraw", "no-such-kid"], "no published key"),
        (["clients", "create", "x", "--public"], "--redirect-uri"),
        (["clients", "create", "x", "--redirect-uri", "javascript:alert(1)"], "redirect_uris"),
    ],
)
def test_bad_input_is_one_line_without_traceback(env: dict[str, str], args: list[str], message: str) -> None:
    assert message in one_line_error(args, env)


def test_people_facing_clients(env: dict[str, str]) -> None:
    """`--redirect-uri` registers a client that signs people in; `--public` one without a credential."""
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert (result.exit_code == 0) == ok, (args, result.output, result.exception)
        return result.output

    cli = json.loads(
        run(
            "clients", "create", "vigil-cli", "--role", "analyst", "--public", "--first-party", "--refresh-tokens",
            "--redirect-uri", "http://127.0.0.1/callback", "--json",
        )
    )  # fmt: skip
    assert cli["client_secret"] is None
    assert cli["client"]["auth_method"] == "none"
    assert cli["client"]["first_party"] is True
    assert cli["client"]["grant_types"] == ["authorization_code", "refresh_token"]
    assert {"openid", "profile", "email", "alerts:read"} <= set(cli["client"]["scopes"])
    web = json.loads(
        run(
            "clients", "create", "partner", "--role", "auditor", "--redirect-uri", "https://partner.example/cb",
            "--post-logout-redirect-uri", "https://partner.example/", "--json",
        )
    )  # fmt: skip
    assert web["client_secret"]
    assert web["client"]["first_party"] is False
    assert web["client"]["post_logout_redirect_uris"] == ["https://partner.example/"]
    run("clients", "rotate", "vigil-cli", ok=False)  # a public client has no credential to rotate
