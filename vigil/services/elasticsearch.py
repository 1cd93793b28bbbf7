"""The local Elasticsearch node: fetched from Maven Central, checked, unpacked under `.vigil/`, run unprivileged.

The integ-test zip is the smallest official distribution (server, security, netty; no ML, no bundled JDK),
which keeps a laptop or CI node light. It has no `GET /` handler, so the version comes from `_nodes/_local`.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from vigil.clients import elasticsearch_client
from vigil.errors import DownloadError, PortTakenError, ServiceError
from vigil.services.java import find_java
from vigil.services.models import ServiceStatus
from vigil.services.process import port_open, read_pid, terminate, wait_until
from vigil.settings import VigilSettings, is_loopback

ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch"
MIN_FREE_BYTES = 1 << 30
SERVICE_ROOT = Path("/var/lib/vigil-es")


def _java_minimum(version: str) -> int:
    return 21 if int(version.split(".")[0]) >= 9 else 17


def _maven_reason(output: str) -> str:
    """The cause Maven gives on its first ERROR line (`... : Could not transfer artifact ...`), kept short."""
    first = next((ln for ln in output.splitlines() if ln.startswith("[ERROR]")), output.strip())
    reason = first.removeprefix("[ERROR]").strip()
    if "Unable to resolve artifact." in reason:
        reason = reason.split("Unable to resolve artifact.", 1)[1].strip()
    return reason[:300] or "no output (is the network or a Maven mirror reachable?)"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _world_traversable(path: Path) -> bool:
    """Whether every existing folder from / down to `path` lets other users pass through."""
    for folder in [*reversed(path.parents), path]:
        try:
            if not folder.stat().st_mode & stat.S_IXOTH:
                return False
        except FileNotFoundError:
            return True
    return True


def _runtime_root(local: Path) -> Path:
    """Where the node's files live: under `.vigil/`, unless root runs Vigil from a folder that the unprivileged
    service account cannot enter (a 0700 temp dir or /root); then under /var/lib/vigil-es, with a symlink
    from `.vigil/elasticsearch` so it is still found where expected."""
    if os.geteuid() != 0 or _world_traversable(local.parent):
        return local
    shared = SERVICE_ROOT / hashlib.sha256(str(local).encode()).hexdigest()[:12]
    shared.mkdir(parents=True, exist_ok=True)
    SERVICE_ROOT.chmod(0o755)
    local.parent.mkdir(parents=True, exist_ok=True)
    if not local.is_symlink():
        local.symlink_to(shared, target_is_directory=True)
    return shared


class ElasticsearchService:
    name = "elasticsearch"

    def __init__(self, settings: VigilSettings) -> None:
        self.settings = settings
        root = _runtime_root(settings.home.resolve() / "elasticsearch")
        self.downloads = settings.home.resolve() / "downloads"
        self.zip_path = self.downloads / f"elasticsearch-{settings.es_version}.zip"
        self.dist = root / f"elasticsearch-{settings.es_version}"
        self.data = root / "data"
        self.logs = root / "logs"
        self.run = root / "run"
        self.pidfile = self.run / "elasticsearch.pid"

    # -- download -------------------------------------------------------------------------------
    def ensure_distribution(self) -> Path:
        """Unpack the pinned distribution once; a second call reuses it."""
        if (self.dist / "bin" / "elasticsearch").exists():
            return self.dist
        self.downloads.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.downloads).free
        if free < MIN_FREE_BYTES:
            raise DownloadError(
                f"disk full: {free // (1 << 20)} MiB free under {self.downloads}, "
                "the Elasticsearch download and unpack need 1 GiB"
            )
        if not self.zip_path.exists() or _sha256(self.zip_path) != self.settings.es_sha256:
            self._fetch_with_maven()
        actual = _sha256(self.zip_path)
        if actual != self.settings.es_sha256:
            self.zip_path.unlink(missing_ok=True)
            raise DownloadError(
                f"{self.zip_path.name} has SHA-256 {actual}, expected {self.settings.es_sha256} "
                "(VIGIL_ES_SHA256); the file was removed, run `vigil services up` again"
            )
        staging = self.dist.with_name(self.dist.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            with zipfile.ZipFile(self.zip_path) as archive:
                archive.extractall(staging)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno == errno.ENOSPC:
                raise DownloadError(f"disk full while unpacking into {staging.parent}") from None
            raise DownloadError(f"cannot unpack {self.zip_path}: {exc.strerror or exc}") from None
        inner = staging / self.dist.name
        for script in (inner / "bin").iterdir():
            script.chmod(0o755)
        inner.rename(self.dist)
        shutil.rmtree(staging, ignore_errors=True)
        return self.dist

    def _fetch_with_maven(self) -> None:
        if shutil.which("mvn") is None:
            raise DownloadError("Maven (mvn) is needed to fetch Elasticsearch: apt-get install maven")
        coordinate = f"{ARTIFACT}:{self.settings.es_version}:zip"
        proc = subprocess.run(
            [
                "mvn",
                "-B",
                "-q",
                "dependency:copy",
                f"-Dartifact={coordinate}",
                f"-DoutputDirectory={self.downloads}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not self.zip_path.exists():
            output = proc.stdout + proc.stderr
            if "No space left" in output:
                raise DownloadError(f"disk full while downloading {coordinate} into {self.downloads}")
            raise DownloadError(f"mvn could not fetch {coordinate}: {_maven_reason(output)}")

    # -- lifecycle ------------------------------------------------------------------------------
    def client(self) -> Elasticsearch:
        return elasticsearch_client(self.settings, request_timeout=5.0)

    def answers(self) -> bool:
        try:
            self.client().cluster.health()
        except (TransportError, ApiError):
            return False
        return True

    def up(self) -> ServiceStatus:
        if self.answers():
            return self.status()
        if not is_loopback(self.settings.es_url):
            raise ServiceError(
                f"Elasticsearch at {self.settings.es_url} does not answer; check VIGIL_ES_URL, the network and "
                "VIGIL_ES_API_KEY"
            )
        port = self.settings.es_port
        if port_open("127.0.0.1", port):
            raise PortTakenError(
                f"port {port} is taken by a program that is not Elasticsearch; free it or set VIGIL_ES_URL to "
                "another port"
            )
        java = find_java(_java_minimum(self.settings.es_version), self.settings.java_home)
        dist = self.ensure_distribution()
        for folder in (self.data, self.logs, self.run):
            folder.mkdir(parents=True, exist_ok=True)
        command = [
            str(dist / "bin" / "elasticsearch"),
            "-d",
            "-p",
            str(self.pidfile),
            "-E",
            "cluster.name=vigil",
            "-E",
            "node.name=vigil-local",
            "-E",
            "discovery.type=single-node",
            "-E",
            "network.host=127.0.0.1",
            "-E",
            f"http.port={port}",
            "-E",
            f"path.data={self.data}",
            "-E",
            f"path.logs={self.logs}",
            "-E",
            "xpack.security.enabled=false",
        ]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(java),
            "ES_JAVA_OPTS": f"-Xms{self.settings.es_heap} -Xmx{self.settings.es_heap}",
            "ES_TMPDIR": str(self.run),
        }
        if os.geteuid() == 0:
            self._hand_to_service_user(dist)
            command = [
                "runuser",
                "-u",
                self.settings.es_user,
                "--",
                "env",
                *(f"{k}={v}" for k, v in env.items()),
                *command,
            ]
        proc = subprocess.run(
            command, env=env, capture_output=True, text=True, check=False, timeout=self.settings.es_start_timeout
        )
        if proc.returncode != 0:
            reason = next((ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()), "no output")
            raise ServiceError(f"Elasticsearch did not start ({reason.strip()[:300]}); see {self.logs}")
        if not wait_until(self._healthy, self.settings.es_start_timeout, 0.5):
            raise ServiceError(
                f"Elasticsearch started but is not healthy after "
                f"{self.settings.es_start_timeout:.0f}s; see {self.logs}/vigil.log"
            )
        return self.status()

    def _healthy(self) -> bool:
        try:
            return self.client().cluster.health()["status"] in {"green", "yellow"}
        except (TransportError, ApiError):
            return False

    def _hand_to_service_user(self, dist: Path) -> None:
        """Elasticsearch refuses to run as root: give its folders to an unprivileged account."""
        user = self.settings.es_user
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                check=True,
                capture_output=True,
            )
            account = pwd.getpwnam(user)
        for path in (dist, self.data, self.logs, self.run):
            for root, dirs, files in os.walk(path):
                os.chown(root, account.pw_uid, account.pw_gid)
                for name in dirs + files:
                    os.chown(Path(root) / name, account.pw_uid, account.pw_gid, follow_symlinks=False)
        probe = subprocess.run(
            ["runuser", "-u", user, "--", "test", "-x", str(dist / "bin" / "elasticsearch")], check=False
        )
        if probe.returncode != 0:
            raise ServiceError(
                f"user {user} cannot reach {dist}: a parent folder is not traversable; set VIGIL_HOME to a folder "
                "that other users may enter (e.g. /var/lib/vigil)"
            )

    def down(self) -> None:
        pid = read_pid(self.pidfile)
        if pid is not None:
            terminate(pid)
        self.pidfile.unlink(missing_ok=True)

    def status(self) -> ServiceStatus:
        pid = read_pid(self.pidfile)
        mode = "local" if pid else "external"
        try:
            client = self.client()
            health = client.cluster.health()["status"]
            version = self._version(client)
        except (TransportError, ApiError) as exc:
            return ServiceStatus(
                name="elasticsearch",
                mode="local" if pid else "stopped",
                address=self.settings.es_url,
                healthy=False,
                health="down",
                pid=pid,
                detail=type(exc).__name__,
            )
        return ServiceStatus(
            name="elasticsearch",
            mode=mode,
            address=self.settings.es_url,
            healthy=health in {"green", "yellow"},
            health=health,
            version=version,
            pid=pid,
        )

    @staticmethod
    def _version(client: Elasticsearch) -> str | None:
        try:
            nodes = client.nodes.info(node_id="_local", metric="_none")["nodes"]
            return str(next(iter(nodes.values()))["version"])
        except (ApiError, StopIteration, KeyError):
            return str(client.info()["version"]["number"])
