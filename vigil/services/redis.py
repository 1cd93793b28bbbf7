"""The local Redis: a project-private `redis-server` with AOF persistence, or an external server that answers.

AOF with `appendfsync always` (default): Redis writes and fsyncs before it answers, so nothing acknowledged is
lost on a crash of Redis or of the machine; writes that arrive together share one fsync. `everysec` is faster but
can lose acknowledged writes: up to a second on power loss, and up to two seconds even on `kill -9` when a
background fsync is slow (Redis then postpones the AOF write yet still answers; a siem fault test caught it).

With `redis_replicas` / `redis_sentinels` (`vigil services up --redis-replicas 1 --sentinels 3`) the same files run a
primary on the URL's port, replicas on port + i (`replicaof` the primary, AOF too) and Sentinels on
`redis_sentinel_port` + i (Debian's `redis-sentinel`), each under `.vigil/redis/failover-<port>/<member>/`.
Sentinel promotes a replica when the primary stops answering for `down-after-milliseconds`; clients built by
`vigil.clients` follow it. The drill's handle: `members`, `kill(member)` (SIGKILL), `start(member)`, `primary()`.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis
from redis.sentinel import Sentinel

from vigil.clients import redis_client
from vigil.errors import PortTakenError, ServiceError
from vigil.services.models import NodeStatus, ServiceStatus
from vigil.services.process import kill, port_open, read_pid, terminate, wait_until
from vigil.settings import VigilSettings, is_loopback

#: A primary is down for Sentinel after this long without an answer; the failover follows within seconds.
DOWN_AFTER_MS = 3000


@dataclass(frozen=True)
class Member:
    """One process of a Redis topology: the primary, a replica or a Sentinel, with its own folder."""

    name: str
    role: str  # primary | replica | sentinel
    port: int
    root: Path

    @property
    def pidfile(self) -> Path:
        return self.root / "redis.pid"

    @property
    def config(self) -> Path:
        return self.root / "redis.conf"


class RedisService:
    name = "redis"

    def __init__(self, settings: VigilSettings) -> None:
        self.settings = settings
        self.root = settings.home.resolve() / "redis"
        self.pidfile = self.root / "redis.pid"
        self.config = self.root / "redis.conf"
        port = settings.redis_port
        self.members: list[Member] = []
        if settings.redis_replicas or settings.redis_sentinels:
            base = self.root / f"failover-{port}"
            self.members = [Member("primary", "primary", port, base / "primary")]
            self.members += [
                Member(f"replica-{i}", "replica", port + i, base / f"replica-{i}")
                for i in range(1, settings.redis_replicas + 1)
            ]
            self.members += [
                Member(f"sentinel-{i + 1}", "sentinel", settings.redis_sentinel_port + i, base / f"sentinel-{i + 1}")
                for i in range(settings.redis_sentinels)
            ]

    # -- a failover topology ----------------------------------------------------------------------------------
    def _server_lines(self, member: Member) -> list[str]:
        lines = [
            "bind 127.0.0.1",
            f"port {member.port}",
            "protected-mode yes",
            "daemonize yes",
            f"pidfile {member.pidfile}",
            f"logfile {member.root / 'redis.log'}",
            f"dir {member.root}",
        ]
        if member.role == "sentinel":
            primary = self.members[0]
            quorum = self.settings.redis_sentinels // 2 + 1
            name = self.settings.redis_master_name
            return [
                *lines,
                f"sentinel monitor {name} 127.0.0.1 {primary.port} {quorum}",
                f"sentinel down-after-milliseconds {name} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {name} 10000",
                f"sentinel parallel-syncs {name} 1",
            ]
        lines += [
            "appendonly yes",
            f"appendfsync {self.settings.redis_appendfsync}",
            'save ""',
            "maxmemory-policy noeviction",
        ]
        if member.role == "replica":
            lines.append(f"replicaof 127.0.0.1 {self.members[0].port}")
        return lines

    def start(self, member: Member) -> None:
        """Start one member. Its config is written once: after a failover Sentinel rewrites who follows whom."""
        binary = shutil.which("redis-sentinel" if member.role == "sentinel" else "redis-server")
        if binary is None:
            package = "redis-sentinel" if member.role == "sentinel" else "redis-server"
            raise ServiceError(f"{package} is not installed: apt-get install {package}")
        if port_open("127.0.0.1", member.port):
            raise PortTakenError(f"port {member.port} ({member.name}) is taken; free it or choose other ports")
        member.root.mkdir(parents=True, exist_ok=True)
        if not member.config.exists():
            member.config.write_text("\n".join(self._server_lines(member)) + "\n")
        proc = subprocess.run([binary, str(member.config)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ServiceError(f"{member.name} did not start: {(proc.stderr or proc.stdout).strip()[:300]}")
        if not wait_until(lambda: port_open("127.0.0.1", member.port), 15.0):
            raise ServiceError(f"{member.name} started but does not answer; see {member.root / 'redis.log'}")

    def kill(self, member: Member) -> int | None:
        """SIGKILL one member, as a crash would; returns its pid (None when it was not running)."""
        pid = read_pid(member.pidfile)
        if pid is not None:
            kill(pid)
        return pid

    def primary(self) -> tuple[str, int] | None:
        """The primary the Sentinels currently agree on (None while none answers or names one)."""
        sentinel = Sentinel(self.settings.sentinels, socket_timeout=2.0)  # type: ignore[no-untyped-call]
        try:
            host, port = sentinel.discover_master(self.settings.redis_master_name)  # type: ignore[no-untyped-call]
        except (redis.RedisError, OSError):
            return None
        return str(host), int(port)

    def _up_topology(self) -> ServiceStatus:
        for member in self.members:
            if read_pid(member.pidfile) is None:
                self.start(member)
        if self.settings.sentinels and not wait_until(lambda: self.primary() is not None, 15.0):
            raise ServiceError("the Sentinels do not name a primary; see their redis.log")
        if not wait_until(self._ping, 15.0):
            raise ServiceError("the Redis primary does not answer through the Sentinels")
        return self.status()

    def _ping(self) -> bool:
        try:
            return bool(redis_client(self.settings, socket_timeout=2.0).ping())
        except (redis.RedisError, OSError):
            return False

    def up(self) -> ServiceStatus:
        if self.members:
            return self._up_topology()
        if self._ping():
            return self.status()
        if not is_loopback(self.settings.redis_url.get_secret_value()):
            raise ServiceError(f"Redis at {self.settings.redis_address} does not answer; check VIGIL_REDIS_URL")
        port = self.settings.redis_port
        if port_open("127.0.0.1", port):
            raise PortTakenError(
                f"port {port} is taken by a program that does not answer as this Redis (wrong password?); "
                "free it or set VIGIL_REDIS_URL to another port"
            )
        server = shutil.which("redis-server")
        if server is None:
            raise ServiceError("redis-server is not installed: apt-get install redis-server (or set VIGIL_REDIS_URL)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {port}",
                    "protected-mode yes",
                    "daemonize yes",
                    f"pidfile {self.pidfile}",
                    f"logfile {self.root / 'redis.log'}",
                    f"dir {self.root}",
                    "appendonly yes",
                    f"appendfsync {self.settings.redis_appendfsync}",
                    'save ""',
                    "maxmemory-policy noeviction",
                ]
            )
            + "\n"
        )
        proc = subprocess.run([server, str(self.config)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ServiceError(f"redis-server did not start: {(proc.stderr or proc.stdout).strip()[:300]}")
        if not wait_until(self._ping, 15.0):
            raise ServiceError(f"redis-server started but does not answer; see {self.root / 'redis.log'}")
        return self.status()

    def down(self) -> None:
        # Sentinels first, so none of them starts a failover while the data members stop.
        for pidfile in [m.pidfile for m in reversed(self.members)] or [self.pidfile]:
            pid = read_pid(pidfile)
            if pid is not None:
                terminate(pid)

    def status(self) -> ServiceStatus:
        pid = read_pid(self.members[0].pidfile if self.members else self.pidfile)
        try:
            client = redis_client(self.settings, decode_responses=True, socket_timeout=2.0)
            info = cast(dict[str, Any], client.info("server"))
            persistence = cast(dict[str, str], client.config_get("append*"))
        except (redis.RedisError, OSError) as exc:
            return ServiceStatus(
                name="redis",
                mode="local" if pid else "stopped",
                address=self.settings.redis_address,
                healthy=False,
                health="down",
                pid=pid,
                detail=type(exc).__name__,
            )
        detail = f"appendonly={persistence.get('appendonly', '?')} appendfsync={persistence.get('appendfsync', '?')}"
        if self.settings.sentinels:
            primary = self.primary()
            detail += f" primary={primary[0]}:{primary[1]}" if primary else " primary=unknown"
        return ServiceStatus(
            name="redis",
            mode="local" if pid else "external",
            address=self.settings.redis_address,
            healthy=True,
            health="up",
            version=str(info.get("redis_version")),
            pid=pid,
            detail=detail,
            nodes=[self._member_status(m) for m in self.members],
        )

    def _member_status(self, member: Member) -> NodeStatus:
        role = member.role
        try:
            client = redis.Redis(host="127.0.0.1", port=member.port, socket_timeout=2.0, decode_responses=True)
            if role != "sentinel":
                replication = cast(dict[str, Any], client.info("replication"))
                role = "primary" if replication["role"] == "master" else "replica"
            else:
                client.ping()
            up = True
        except (redis.RedisError, OSError):
            up = False
        return NodeStatus(
            name=member.name, address=f"127.0.0.1:{member.port}", roles=role, up=up, pid=read_pid(member.pidfile)
        )
