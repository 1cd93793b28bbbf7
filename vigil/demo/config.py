"""What a demo run is made of: ports, traffic volume, folders, and the environment every demo process shares.

The demo runs in the namespace the settings name (`VIGIL_NAMESPACE`, `vigil` by default) so the
CLI (`vigil alerts list`, `vigil compliance status`, ...) sees its data afterwards without extra variables.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel, Field

from vigil.errors import ConfigurationError
from vigil.settings import VigilSettings

# The storefront's own scopes: the issuer supports them next to Vigil's, and the edge requires them per route
# (so a read-only client writing an order is refused with `insufficient_scope`).
STOREFRONT_SCOPES = ("orders:read", "orders:write")
SCOPE_RULES = (
    {"method": "POST", "path_prefix": "/api/orders", "scopes": ["orders:write"]},
    {"method": "*", "path_prefix": "/api", "scopes": ["orders:read"]},
)
KEK_FILE = "edgeauth-key-encryption-key"
#: Two SLA tiers, each with its own canary client: premium for acme-corp, standard for globex.
CANARIES_FILE = Path(__file__).resolve().parents[2] / "deploy" / "canaries.yaml"
#: The tier whose upstream turns slow during the attack storyline (its SLA is the one the period misses).
SLOW_TIER = "premium"
SLOW_UPSTREAM_MS = 600


class DemoConfig(BaseModel):
    """One run of `vigil demo`."""

    host: str = "127.0.0.1"
    port_offset: int = Field(default=0, ge=0, le=50_000, description="Added to every demo port (parallel runs).")
    users: int = Field(default=2000, ge=10, le=200_000, description="Simulated end users (one source IP each).")
    clients: int = Field(default=40, ge=3, le=500, description="Storefront client applications with real tokens.")
    requests_per_user: int = Field(default=2, ge=1, le=100)
    concurrency: int = Field(default=32, ge=1, le=512, description="Requests in flight at once.")
    absence_minutes: int = Field(default=1, ge=1, le=60, description="Silence after which a log source alerts.")
    worker_concurrency: int = Field(default=1, ge=1, le=16)
    canary_interval_seconds: int = Field(default=60, ge=10, description="Beat runs the canary this often.")

    @property
    def nginx_port(self) -> int:
        return 8080 + self.port_offset

    @property
    def app_port(self) -> int:
        return 8000 + self.port_offset

    @property
    def edge_port(self) -> int:
        return 8081 + self.port_offset

    @property
    def api_port(self) -> int:
        return 8082 + self.port_offset

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    @property
    def app_url(self) -> str:
        return self.url(self.app_port)

    @property
    def nginx_url(self) -> str:
        return self.url(self.nginx_port)

    @property
    def edge_url(self) -> str:
        return self.url(self.edge_port)

    @property
    def api_url(self) -> str:
        return self.url(self.api_port)


class DemoPaths:
    """Every file of a demo run lives under `{home}/demo` (pids, logs, nginx prefix); secrets under `{home}/secrets`."""

    def __init__(self, home: Path) -> None:
        self.root = home / "demo"
        self.secrets = home / "secrets"
        self.nginx = self.root / "nginx"
        self.app_logs = self.root / "storefront"

    @property
    def bundles(self) -> Path:
        """Where the demo copies the bundle it built out of the shared store, for the reader to open."""
        return self.root / "bundles"

    @property
    def reports(self) -> Path:
        """Where the demo writes each client's signed transparency report."""
        return self.root / "reports"

    @property
    def nginx_access_log(self) -> Path:
        return self.nginx / "logs" / "access.log"

    @property
    def api_access_log(self) -> Path:
        return self.app_logs / "access.log"

    @property
    def api_exception_log(self) -> Path:
        return self.app_logs / "exceptions.log"

    @property
    def slow_upstream(self) -> Path:
        """The storefront's fault switch: while it exists, the clients it lists are served slowly."""
        return self.app_logs / "slow-clients.json"


def local_secret(folder: Path, name: str) -> str:
    """A random secret generated once into `folder/name` (0600) and read back afterwards; never printed."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / name
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
    if path.stat().st_mode & 0o077:
        raise ConfigurationError(f"{path} is readable by others; run `chmod 600 {path}`")
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < 16:
        raise ConfigurationError(f"{path} holds no usable secret; delete it to have a new one generated")
    return value


def demo_environment(settings: VigilSettings, config: DemoConfig, paths: DemoPaths) -> dict[str, str]:
    """`VIGIL_*` variables every demo process (and the demo itself) runs with, on top of the caller's own."""
    env = {
        "VIGIL_EDGEAUTH__ISSUER": config.app_url,
        "VIGIL_EDGEAUTH__OAUTH__SCOPES_SUPPORTED": json.dumps(
            sorted({*settings.edgeauth.oauth.scopes_supported, *STOREFRONT_SCOPES})
        ),
        "VIGIL_EDGEAUTH__SCOPE_RULES": json.dumps(SCOPE_RULES),
        # The demo's nginx runs on this machine and names the client in X-Real-IP; nobody else is believed.
        "VIGIL_EDGEAUTH__TRUSTED_PROXIES": json.dumps(["127.0.0.1/32", "::1/128"]),
        # People sign in to the demo's console over plain http on loopback: its cookies and the issuer's cannot be
        # `Secure` there (development settings; production keeps both defaults).
        "VIGIL_CONSOLE__SECURE_COOKIE": "auto",
        "VIGIL_EDGEAUTH__OAUTH__SSO_COOKIE_INSECURE": "true",
        "VIGIL_DETECTIONS__ABSENCE_MINUTES": str(config.absence_minutes),
        "VIGIL_CANARY__ENABLED": "true",
        "VIGIL_CANARY__ISSUER_URL": config.app_url,
        "VIGIL_CANARY__PROXY_URL": config.nginx_url,
        "VIGIL_CANARY__INTERVAL_SECONDS": str(config.canary_interval_seconds),
        "VIGIL_CANARY__DEFINITIONS": str(CANARIES_FILE),
        # One machine runs the whole demo and its attack: an answer that comes late counts against the latency
        # objective (what the slow tier is about), not as a failed probe.
        "VIGIL_CANARY__TIMEOUT_SECONDS": "15",
        "VIGIL_DEMO_SLOW_UPSTREAM": str(paths.slow_upstream.resolve()),
        "VIGIL_DEMO_ACCESS_LOG": str(paths.api_access_log.resolve()),
        "VIGIL_DEMO_EXCEPTION_LOG": str(paths.api_exception_log.resolve()),
    }
    if settings.edgeauth.key_encryption_key is None:
        env["VIGIL_EDGEAUTH__KEY_ENCRYPTION_KEY"] = local_secret(paths.secrets, KEK_FILE)
    return env
