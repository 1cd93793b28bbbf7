"""A local Keycloak: the upstream identity provider of the federation tests and the issuer benchmark.

Fetched from Maven Central (`org.keycloak:keycloak-quarkus-dist`, zip) through `vigil.services.maven`, unpacked
once per HTTP port under `.vigil/keycloak/<port>/` (Keycloak keeps its transaction log and import folder inside its
home, so two instances never share one), and run as `kc.sh start-dev` on 127.0.0.1 with explicit HTTP and
management ports (never its defaults 8080/9000, which other programs on a developer machine hold). The database is
`dev-mem`: every start begins from the realm file (`--import-realm`), so a test that disables a user upstream
leaves nothing behind for the next session. The bootstrap administrator's password is generated on the first start
and kept 0600 beside the instance (`admin-password`); `admin_token()` gives a master-realm token for the admin REST
API. Ready means the management interface's `/health/ready` answers UP *and* the imported realm publishes its
discovery document.

`vigil services up --keycloak` starts it; `vigil.services.services_for` leaves it out, so the fast path (every
test session, `make demo`) never waits for a JVM it does not use.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import httpx
from pydantic import SecretStr

from vigil.errors import PortTakenError, ServiceError
from vigil.services.java import find_java
from vigil.services.maven import Artifact, fetch, unpack
from vigil.services.models import ServiceStatus
from vigil.services.process import port_open, read_pid, terminate, wait_until
from vigil.settings import VigilSettings, is_loopback

GROUP, NAME = "org.keycloak", "keycloak-quarkus-dist"
JAVA_MINIMUM = 21
ADMIN_USER = "admin"
#: The realm whose discovery document proves the import finished (the one in tests/fixtures/keycloak).
DEFAULT_REALM = "vigil"


class KeycloakService:
    """The Keycloak of `settings.keycloak_url`: `up()` (idempotent), `down()`, `status()`, `admin_token()`."""

    name = "keycloak"

    def __init__(self, settings: VigilSettings, realm: str = DEFAULT_REALM) -> None:
        self.settings = settings
        self.realm = realm
        self.url = settings.keycloak_url
        self.port = settings.keycloak_port
        self.management_port = settings.keycloak_management_port
        home = settings.home.resolve()
        self.downloads = home / "downloads"
        self.root = home / "keycloak" / str(self.port)
        self.dist = self.root / f"keycloak-{settings.keycloak_version}"
        self.pidfile = self.root / "keycloak.pid"
        self.log = self.root / "keycloak.log"
        self.password_file = self.root / "admin-password"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def artifact(self) -> Artifact:
        return Artifact(
            GROUP,
            NAME,
            self.settings.keycloak_version,
            self.settings.keycloak_sha256,
            "Keycloak",
            "VIGIL_KEYCLOAK_SHA256",
        )

    @property
    def issuer(self) -> str:
        """The OpenID Connect issuer of the realm (what an upstream setting names)."""
        return f"{self.url}/realms/{self.realm}"

    def ensure_distribution(self) -> Path:
        if (self.dist / "bin" / "kc.sh").exists():
            return self.dist
        self.root.mkdir(parents=True, exist_ok=True)
        return unpack(fetch(self.artifact, self.downloads), self.dist)

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def up(self) -> ServiceStatus:
        if self.ready():
            return self.status()
        if not is_loopback(self.url):
            raise ServiceError(f"Keycloak at {self.url} does not answer; check VIGIL_KEYCLOAK_URL")
        if read_pid(self.pidfile) is None:
            self._start()
        if not wait_until(self._ready_or_exited, self.settings.keycloak_start_timeout, 1.0):
            self.down()  # bounded: a Keycloak that missed its deadline is not left starting in the background
            raise ServiceError(
                f"Keycloak is not ready after {self.settings.keycloak_start_timeout:.0f}s "
                f"(VIGIL_KEYCLOAK_START_TIMEOUT); see {self.log}"
            )
        if not self.ready():
            self.pidfile.unlink(missing_ok=True)
            raise ServiceError(f"Keycloak exited during its start; see {self.log}: {self._last_error()}")
        return self.status()

    def _exited(self) -> bool:
        if self._process is not None:
            return self._process.poll() is not None
        return read_pid(self.pidfile) is None

    def _ready_or_exited(self) -> bool:
        return self._exited() or self.ready()

    def _start(self) -> None:
        for port, setting in (
            (self.port, "VIGIL_KEYCLOAK_URL"),
            (self.management_port, "VIGIL_KEYCLOAK_MANAGEMENT_PORT"),
        ):
            if port_open("127.0.0.1", port):
                raise PortTakenError(
                    f"port {port} is taken by a program that is not this Keycloak; free it or set {setting}"
                )
        realm_file = self.settings.keycloak_realm_file
        if realm_file is not None and not realm_file.is_file():
            raise ServiceError(
                f"the realm file {realm_file} does not exist (VIGIL_KEYCLOAK_REALM_FILE; paths are relative to "
                "the working folder, run from the repository root)"
            )
        java = find_java(JAVA_MINIMUM, self.settings.java_home, product="Keycloak")
        dist = self.ensure_distribution()
        imports = dist / "data" / "import"
        shutil.rmtree(imports, ignore_errors=True)
        imports.mkdir(parents=True)
        if realm_file is not None:
            shutil.copyfile(realm_file, imports / realm_file.name)
        command = [
            str(dist / "bin" / "kc.sh"),
            "start-dev",
            "--http-host=127.0.0.1",
            f"--http-port={self.port}",
            f"--http-management-port={self.management_port}",
            "--health-enabled=true",
            "--db=dev-mem",
            "--import-realm",
        ]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(self.root)),
            "JAVA_HOME": str(java),
            "JAVA_OPTS_KC_HEAP": f"-Xms64m -Xmx{self.settings.keycloak_heap}",
            "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": self.admin_password().get_secret_value(),
        }
        with self.log.open("ab") as log:
            # kc.sh runs the build step, then execs the server JVM in place: the pid stays the server's. A session of
            # its own, so a Ctrl-C in the shell that ran `vigil services up` does not reach it.
            proc = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.root,
                start_new_session=True,
            )
        self._process = proc
        self.pidfile.write_text(f"{proc.pid}\n")

    def _last_error(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "no log"
        failing = [ln for ln in lines if "ERROR" in ln]
        return (failing[-1] if failing else (lines[-1] if lines else "no output")).strip()[:300]

    def down(self) -> None:
        """SIGTERM (Keycloak shuts down gracefully in about a second), SIGKILL after 30 s."""
        pid = read_pid(self.pidfile)
        if self._process is not None and self._process.pid == pid:
            # Our own child: reap it, or it would linger as a zombie that still answers `kill -0`.
            self._process.terminate()
            try:
                self._process.wait(timeout=30.0)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10.0)
        elif pid is not None:
            terminate(pid)
        self._process = None
        self.pidfile.unlink(missing_ok=True)

    def ready(self) -> bool:
        """Health UP on the management interface and the realm's discovery document served."""
        try:
            health = httpx.get(f"http://127.0.0.1:{self.management_port}/health/ready", timeout=3.0)
            if health.status_code != 200 or health.json().get("status") != "UP":
                return False
            discovery = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=3.0)
        except (httpx.HTTPError, ValueError):
            return False
        return discovery.status_code == 200

    def status(self) -> ServiceStatus:
        pid = read_pid(self.pidfile)
        healthy = self.ready()
        return ServiceStatus(
            name="keycloak",
            mode="local" if pid else ("external" if healthy else "stopped"),
            address=self.url,
            healthy=healthy,
            health="up" if healthy else "down",
            version=self.settings.keycloak_version if pid else None,
            pid=pid,
            detail=f"realm={self.realm} management=127.0.0.1:{self.management_port}",
        )

    # -- administration -------------------------------------------------------------------------------------------
    def admin_password(self) -> SecretStr:
        """The bootstrap administrator's password: generated once, kept 0600 beside the instance."""
        if not self.password_file.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(24))
        return SecretStr(self.password_file.read_text().strip())

    def admin_token(self) -> str:
        """A master-realm access token of the bootstrap administrator, for the admin REST API."""
        response = httpx.post(
            f"{self.url}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": ADMIN_USER,
                "password": self.admin_password().get_secret_value(),
            },
            timeout=10.0,
        )
        if response.status_code != 200:
            raise ServiceError(f"Keycloak refused the administrator's sign-in ({response.status_code})")
        return str(response.json()["access_token"])
