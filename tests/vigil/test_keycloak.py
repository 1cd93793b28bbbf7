"""The local Keycloak launcher against a real Keycloak (the session's `keycloak` fixture), and its one-line errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fixtures.idp import ANALYST, AUDITOR, CLIENT_ID, NO_ROLE, OUTSIDE_DOMAIN, KeycloakRealm
from vigil import services
from vigil.errors import PortTakenError, ServiceError
from vigil.settings import VigilSettings, load_settings

pytestmark = pytest.mark.integration

VIGIL = str(Path(sys.executable).with_name("vigil"))


def test_the_realm_is_imported_with_its_client_users_and_claims(keycloak: KeycloakRealm) -> None:
    discovery = httpx.get(f"{keycloak.issuer}/.well-known/openid-configuration", timeout=10.0).json()
    assert discovery["issuer"] == keycloak.issuer
    assert "S256" in discovery["code_challenge_methods_supported"]
    with keycloak.admin() as admin:
        (client,) = admin.get("/clients", params={"clientId": CLIENT_ID}).json()
        assert client["publicClient"] is False
        assert client["attributes"]["pkce.code.challenge.method"] == "S256"
        mappers = {m["config"]["claim.name"] for m in client["protocolMappers"]}
        assert {"groups", "roles", "engagement"} <= mappers
        users = {u["username"]: u for u in admin.get("/users", params={"max": 100}).json()}
        for name, _ in (ANALYST, AUDITOR, OUTSIDE_DOMAIN, NO_ROLE):
            assert users[name]["enabled"]
            assert users[name]["emailVerified"]
        assert "engagement" in users[AUDITOR[0]]["attributes"]
        groups = admin.get(f"/users/{users[ANALYST[0]]['id']}/groups").json()
        assert [g["name"] for g in groups] == ["security-analysts"]


def test_its_ports_are_never_keycloaks_defaults(settings: VigilSettings) -> None:
    defaults = load_settings(home=settings.home)
    default_service = services.keycloak(defaults)
    assert {default_service.port, default_service.management_port}.isdisjoint({8080, 9000})


def test_status_on_the_command_line_reports_it(keycloak: KeycloakRealm) -> None:
    proc = subprocess.run(
        [VIGIL, "services", "status", "--keycloak"], capture_output=True, text=True, timeout=120, env=os.environ
    )
    line = next(ln for ln in proc.stdout.splitlines() if " keycloak " in ln)
    assert line.startswith("[ok ]"), proc.stdout + proc.stderr
    assert keycloak.service.url in line


def test_a_taken_port_is_refused_in_one_line(settings: VigilSettings, tmp_path: Path, squatter: int) -> None:
    service = services.keycloak(
        settings.model_copy(update={"home": tmp_path, "keycloak_url": f"http://127.0.0.1:{squatter}"})
    )
    with pytest.raises(PortTakenError, match=f"port {squatter} is taken.*VIGIL_KEYCLOAK_URL"):
        service.up()
    assert not (tmp_path / "keycloak" / str(squatter) / "keycloak.pid").exists()


def test_a_missing_realm_file_is_refused_before_anything_starts(
    settings: VigilSettings, tmp_path: Path, squatter: int
) -> None:
    free_ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free_ports.append(probe.getsockname()[1])
    service = services.keycloak(
        settings.model_copy(
            update={
                "home": tmp_path,
                "keycloak_url": f"http://127.0.0.1:{free_ports[0]}",
                "keycloak_management_port": free_ports[1],
                "keycloak_realm_file": tmp_path / "absent.json",
            }
        )
    )
    with pytest.raises(ServiceError, match=r"realm file .*absent\.json does not exist"):
        service.up()
    assert not (tmp_path / "downloads").exists()


def test_the_fast_path_leaves_keycloak_out(settings: VigilSettings) -> None:
    assert [s.name for s in services.services_for(settings)] == ["elasticsearch", "redis"]
