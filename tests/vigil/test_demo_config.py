"""The demo's configuration: local secrets, its environment, the nginx config rendered from deploy/nginx."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from vigil.demo.config import KEK_FILE, DemoConfig, DemoPaths, demo_environment, local_secret
from vigil.demo.stack import TEMPLATE, nginx_binary, render_nginx, write_nginx_prefix
from vigil.errors import ConfigurationError, ServiceError
from vigil.settings import load_settings


def test_a_local_secret_is_made_once_private_and_reused(tmp_path: Path) -> None:
    first = local_secret(tmp_path / "secrets", "k")
    assert len(first) >= 32
    assert stat.S_IMODE((tmp_path / "secrets" / "k").stat().st_mode) == 0o600
    assert local_secret(tmp_path / "secrets", "k") == first


def test_a_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    local_secret(tmp_path, "k")
    os.chmod(tmp_path / "k", 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        local_secret(tmp_path, "k")


def test_the_environment_names_the_issuer_scopes_and_key_encryption_key(tmp_path: Path) -> None:
    config = DemoConfig(port_offset=7)
    env = demo_environment(load_settings(edgeauth={}), config, DemoPaths(tmp_path))
    assert env["VIGIL_EDGEAUTH__ISSUER"] == "http://127.0.0.1:8007"
    assert {"orders:read", "orders:write", "ingest:write"} <= set(
        json.loads(env["VIGIL_EDGEAUTH__OAUTH__SCOPES_SUPPORTED"])
    )
    assert env["VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY"] == (tmp_path / "secrets" / KEK_FILE).read_text()
    # The variables parse back into valid settings (what every demo process will do).
    parsed = load_settings(
        edgeauth={
            "scope_rules": json.loads(env["VIGIL_EDGEAUTH__SCOPE_RULES"]),
            "issuer": env["VIGIL_EDGEAUTH__ISSUER"],
        }
    )
    assert parsed.edgeauth.scopes_for("POST", "/api/orders") == ("orders:write",)
    assert parsed.edgeauth.scopes_for("GET", "/api/search") == ("orders:read",)


def test_rendered_nginx_config_adds_request_ids_and_real_ip(tmp_path: Path) -> None:
    text = render_nginx(TEMPLATE.read_text(encoding="utf-8"), DemoConfig(port_offset=100))
    assert "listen 127.0.0.1:8180;" in text
    assert "server 127.0.0.1:8181;" in text
    assert "server 127.0.0.1:8182;" in text
    assert "access_log logs/access.log vigil;" in text
    assert "rid=$request_id" in text
    assert "real_ip_header X-Forwarded-For;" in text
    assert "${" not in text


def test_rendered_nginx_config_is_valid_for_nginx(tmp_path: Path) -> None:
    write_nginx_prefix(tmp_path, DemoConfig())
    checked = subprocess.run(
        [nginx_binary(), "-t", "-p", f"{tmp_path}/", "-c", "nginx.conf", "-e", "logs/error.log"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_a_changed_template_is_reported_not_half_rendered() -> None:
    with pytest.raises(ServiceError, match="cannot find"):
        render_nginx("http { }", DemoConfig())
