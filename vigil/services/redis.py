"""The local Redis: a project-private `redis-server` with AOF persistence, or an external server that answers.

AOF with `appendfsync always` (default): Redis writes and fsyncs before it answers, so nothing acknowledged is
lost on a crash of Redis or of the machine; writes that arrive together share one fsync. `everysec` is faster but
can lose acknowledged writes: up to a second on power loss, and up to two seconds even on `kill -9` when a
background fsync is slow (Redis then postpones the AOF write yet still answers; a siem fault test caught it).
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, cast

import redis

from vigil.clients import redis_client
from vigil.errors import PortTakenError, ServiceError
from vigil.services.models import ServiceStatus
from vigil.services.process import port_open, read_pid, terminate, wait_until
from vigil.settings import VigilSettings, is_loopback


class RedisService:
    name = "redis"

    def __init__(self, settings: VigilSettings) -> None:
        self.settings = settings
        self.root = settings.home.resolve() / "redis"
        self.pidfile = self.root / "redis.pid"
        self.config = self.root / "redis.conf"

    def _ping(self) -> bool:
        try:
            return bool(redis_client(self.settings, socket_timeout=2.0).ping())
        except (redis.RedisError, OSError):
            return False

    def up(self) -> ServiceStatus:
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
        pid = read_pid(self.pidfile)
        if pid is not None:
            terminate(pid)

    def status(self) -> ServiceStatus:
        pid = read_pid(self.pidfile)
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
        return ServiceStatus(
            name="redis",
            mode="local" if pid else "external",
            address=self.settings.redis_address,
            healthy=True,
            health="up",
            version=str(info.get("redis_version")),
            pid=pid,
            detail=detail,
        )
