"""The local Elasticsearch node or cluster: fetched from Maven Central, checked, unpacked under `.vigil/`, run
unprivileged. `VIGIL_ES_NODES=N` (or `vigil services up --es-nodes N`) starts N nodes of one cluster from the same
unpacked distribution: node i answers HTTP on the URL's port + i and transport on `VIGIL_ES_TRANSPORT_PORT` + i,
all on loopback, each with its own data, logs and pid under `.vigil/elasticsearch/cluster-<port>/node-<i>`.

The integ-test zip is the smallest official distribution (server, security, netty; no ML, no bundled JDK),
which keeps a laptop or CI node light. It has no `GET /` handler, so the version comes from `_nodes/_local`.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from vigil.clients import elasticsearch_client
from vigil.errors import PortTakenError, ServiceError
from vigil.services.java import find_java
from vigil.services.maven import Artifact, fetch, unpack
from vigil.services.models import NodeStatus, ServiceStatus
from vigil.services.process import kill, port_open, read_pid, terminate, wait_until
from vigil.settings import VigilSettings, is_loopback

ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch"
SERVICE_ROOT = Path("/var/lib/vigil-es")


def _java_minimum(version: str) -> int:
    return 21 if int(version.split(".")[0]) >= 9 else 17


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


@dataclass(frozen=True)
class Node:
    """One local node: its ports and its own folders (a node never shares data with another)."""

    name: str
    http_port: int
    transport_port: int | None  # None: a single node on the default transport port, not reachable by peers
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def pidfile(self) -> Path:
        return self.run / "elasticsearch.pid"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


class ElasticsearchService:
    """The local node (default) or N-node cluster of `settings`; an external cluster is only checked.

    The drill's handle on a cluster: `nodes`, `start_node(node)`, `kill_node(node)` (SIGKILL, no goodbye) and
    `health()`; `up()`/`down()` for all of them.
    """

    name = "elasticsearch"

    def __init__(self, settings: VigilSettings) -> None:
        self.settings = settings
        root = _runtime_root(settings.home.resolve() / "elasticsearch")
        self.root = root
        self.downloads = settings.home.resolve() / "downloads"
        self.zip_path = self.downloads / self.artifact.file_name
        self.dist = root / f"elasticsearch-{settings.es_version}"
        port = settings.es_port
        if settings.es_nodes == 1:
            # The historical single-node layout (.vigil/elasticsearch/{data,logs,run}), so running nodes stay found.
            self.nodes = [Node("vigil-local", port, None, root)]
        else:
            cluster = root / f"cluster-{port}"
            self.nodes = [
                Node(f"vigil-{port}-{i + 1}", port + i, settings.es_transport_port + i, cluster / f"node-{i + 1}")
                for i in range(settings.es_nodes)
            ]
        first = self.nodes[0]
        self.data, self.logs, self.run, self.pidfile = first.data, first.logs, first.run, first.pidfile

    # -- download -------------------------------------------------------------------------------
    @property
    def artifact(self) -> Artifact:
        group, name = ARTIFACT.split(":")
        return Artifact(
            group, name, self.settings.es_version, self.settings.es_sha256, "Elasticsearch", "VIGIL_ES_SHA256"
        )

    def ensure_distribution(self) -> Path:
        """Unpack the pinned distribution once; a second call reuses it."""
        if (self.dist / "bin" / "elasticsearch").exists():
            return self.dist
        return unpack(fetch(self.artifact, self.downloads), self.dist)

    # -- lifecycle ------------------------------------------------------------------------------
    def client(self) -> Elasticsearch:
        return elasticsearch_client(self.settings, request_timeout=5.0)

    def answers(self) -> bool:
        try:
            self.client().cluster.health()
        except (TransportError, ApiError):
            return False
        return True

    def health(self) -> dict[str, object]:
        """`_cluster/health` through any local node that answers (the URL's node may be the one killed)."""
        for node in self.nodes:
            try:
                return dict(Elasticsearch(node.url, request_timeout=5.0).cluster.health())
            except (TransportError, ApiError):
                continue
        raise ServiceError(f"no node of the cluster at {self.settings.es_url} answers")

    def up(self) -> ServiceStatus:
        if self.answers() and self._complete():
            return self.status()
        if not is_loopback(self.settings.es_url):
            raise ServiceError(
                f"Elasticsearch at {self.settings.es_url} does not answer; check VIGIL_ES_URL, the network and "
                "VIGIL_ES_API_KEY"
            )
        for node in self.nodes:
            if read_pid(node.pidfile) is None:
                self.start_node(node, wait=False)
        if not wait_until(self._healthy, self.settings.es_start_timeout, 0.5):
            raise ServiceError(
                f"Elasticsearch started but is not healthy with {len(self.nodes)} node(s) after "
                f"{self.settings.es_start_timeout:.0f}s; see {self.logs}"
            )
        return self.status()

    def _complete(self) -> bool:
        try:
            return int(self.client().cluster.health()["number_of_nodes"]) >= len(self.nodes)
        except (TransportError, ApiError):
            return False

    def start_node(self, node: Node, *, wait: bool = True) -> None:
        """Start one node (a node the drill killed rejoins its cluster with its own data)."""
        if port_open("127.0.0.1", node.http_port):
            raise PortTakenError(
                f"port {node.http_port} is taken by a program that is not this Elasticsearch node; free it or set "
                "VIGIL_ES_URL to another port"
            )
        java = find_java(_java_minimum(self.settings.es_version), self.settings.java_home)
        dist = self.ensure_distribution()
        for folder in (node.data, node.logs, node.run):
            folder.mkdir(parents=True, exist_ok=True)
        options = {
            "cluster.name": "vigil" if node.transport_port is None else f"vigil-{self.nodes[0].http_port}",
            "node.name": node.name,
            "network.host": "127.0.0.1",
            "http.port": str(node.http_port),
            "path.data": str(node.data),
            "path.logs": str(node.logs),
            "xpack.security.enabled": "false",
        }
        if node.transport_port is None:
            options["discovery.type"] = "single-node"
        else:
            peers = [f"127.0.0.1:{n.transport_port}" for n in self.nodes]
            options["transport.port"] = str(node.transport_port)
            options["discovery.seed_hosts"] = ",".join(peers)
            # Only read when the cluster first forms; a node restarting later finds its cluster in its own data.
            options["cluster.initial_master_nodes"] = ",".join(n.name for n in self.nodes)
        heap = self.settings.es_heap if node.transport_port is None else self.settings.es_node_heap
        command = [str(dist / "bin" / "elasticsearch"), "-d", "-p", str(node.pidfile)]
        for key, value in options.items():
            command += ["-E", f"{key}={value}"]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(java),
            "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
            "ES_TMPDIR": str(node.run),
        }
        if os.geteuid() == 0:
            self._hand_to_service_user(dist, node)
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
            raise ServiceError(
                f"Elasticsearch node {node.name} did not start ({reason.strip()[:300]}); see {node.logs}"
            )
        if wait and not wait_until(self._healthy, self.settings.es_start_timeout, 0.5):
            raise ServiceError(f"node {node.name} started but the cluster is not healthy; see {node.logs}")

    def kill_node(self, node: Node) -> int | None:
        """SIGKILL one node, as a crash would; returns its pid (None when it was not running)."""
        pid = read_pid(node.pidfile)
        if pid is not None:
            kill(pid)
        return pid

    def _healthy(self) -> bool:
        try:
            health = self.health()
        except ServiceError:
            return False
        return health["status"] in {"green", "yellow"} and int(str(health["number_of_nodes"])) >= len(self.nodes)

    def _hand_to_service_user(self, dist: Path, node: Node) -> None:
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
        for path in (dist, node.data, node.logs, node.run):
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
        """Stop every local node of this URL's cluster, also those of a larger `--es-nodes` than settings say."""
        cluster = self.root / f"cluster-{self.nodes[0].http_port}"
        pidfiles = {node.pidfile for node in self.nodes} | set(cluster.glob("node-*/run/elasticsearch.pid"))
        for pidfile in sorted(pidfiles):
            pid = read_pid(pidfile)
            if pid is not None:
                terminate(pid)
            pidfile.unlink(missing_ok=True)

    def erase(self) -> None:
        """Remove a stopped multi-node cluster's folders (its data): tests and drills start the next one empty."""
        if len(self.nodes) == 1:
            raise ServiceError("erase removes a multi-node cluster's data only; the single node keeps its folders")
        if any(read_pid(node.pidfile) is not None for node in self.nodes):
            raise ServiceError("stop the cluster before erasing its data")
        shutil.rmtree(self.nodes[0].root.parent, ignore_errors=True)

    def status(self) -> ServiceStatus:
        pids = [read_pid(node.pidfile) for node in self.nodes]
        pid = pids[0]
        local = any(pids)
        try:
            client = self.client()
            health = client.cluster.health()["status"]
            version = self._version(client)
            seen = client.cat.nodes(format="json", h="name,ip,http_address,node.role,master")
        except (TransportError, ApiError) as exc:
            return ServiceStatus(
                name="elasticsearch",
                mode="local" if local else "stopped",
                address=self.settings.es_url,
                healthy=False,
                health="down",
                pid=pid,
                detail=type(exc).__name__,
                nodes=self._local_nodes(pids, {}),
            )
        rows = cast(list[dict[str, Any]], seen.body)
        in_cluster = {str(n["name"]): n for n in rows}
        nodes = self._local_nodes(pids, in_cluster) if local else []
        nodes += [
            NodeStatus(
                name=name,
                address=str(n.get("http_address") or n.get("ip")),
                roles=str(n["node.role"]),
                master=n["master"] == "*",
            )
            for name, n in in_cluster.items()
            if name not in {m.name for m in nodes}
        ]
        return ServiceStatus(
            name="elasticsearch",
            mode="local" if local else "external",
            address=self.settings.es_url,
            healthy=health in {"green", "yellow"} and len(in_cluster) >= (len(self.nodes) if local else 1),
            health=health,
            version=version,
            pid=pid,
            detail=f"{len(in_cluster)} node(s)",
            nodes=nodes,
        )

    def _local_nodes(self, pids: list[int | None], in_cluster: dict[str, dict[str, Any]]) -> list[NodeStatus]:
        out = []
        for node, pid in zip(self.nodes, pids, strict=True):
            seen = in_cluster.get(node.name)
            out.append(
                NodeStatus(
                    name=node.name,
                    address=f"127.0.0.1:{node.http_port}",
                    roles=str(seen["node.role"]) if seen else "",
                    master=bool(seen and seen["master"] == "*"),
                    up=seen is not None,
                    pid=pid,
                )
            )
        return out

    @staticmethod
    def _version(client: Elasticsearch) -> str | None:
        try:
            nodes = client.nodes.info(node_id="_local", metric="_none")["nodes"]
            return str(next(iter(nodes.values()))["version"])
        except (ApiError, StopIteration, KeyError):
            return str(client.info()["version"]["number"])
