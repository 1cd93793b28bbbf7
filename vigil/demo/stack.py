"""The demo's processes: Vigil app, edge verifier, storefront, nginx, log shippers, Celery worker and beat.

Each runs detached under the `Supervisor` (pid files and logs in `.vigil/demo/`), so the services stay up after
`vigil demo` returns and `vigil demo down` finds them again.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from string import Template

from vigil.demo.config import DemoConfig, DemoPaths
from vigil.demo.supervisor import Supervisor
from vigil.errors import PortTakenError, ServiceError
from vigil.services.process import port_open, wait_until

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "nginx.conf.template"

# Added to deploy/nginx's template for the demo: an access log the siem parser reads with the request id that
# joins it to edge decisions and app exceptions, and the client address taken from X-Forwarded-For on loopback
# (the traffic generator plays thousands of source addresses from one machine).
_HTTP_ADDITIONS = """
    log_format vigil '$remote_addr - $remote_user [$time_local] "$vigil_request_line" $status $body_bytes_sent '
                     '"$http_referer" "$http_user_agent" rt=$request_time rid=$request_id';
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
"""
_UPSTREAM_ADDITIONS = "            proxy_set_header X-Real-IP $remote_addr;\n"

LOG_SHIPPERS = ("ship-nginx", "ship-storefront", "ship-exceptions")


def render_nginx(template: str, config: DemoConfig) -> str:
    """The template with the demo's addresses, access-log format and real-IP handling."""
    text = Template(template).safe_substitute(
        LISTEN=f"{config.host}:{config.nginx_port}",
        VERIFIER=f"{config.host}:{config.edge_port}",
        VERIFIER_2=f"{config.host}:{config.edge_port}",  # the demo runs one verifier: both upstream lines name it
        UPSTREAM=f"{config.host}:{config.api_port}",
    )
    anchors = {
        "    access_log logs/access.log vigil_combined;\n": _HTTP_ADDITIONS + "    access_log logs/access.log vigil;\n",
        "            proxy_set_header X-Auth-Scopes $auth_scopes;\n": (
            "            proxy_set_header X-Auth-Scopes $auth_scopes;\n" + _UPSTREAM_ADDITIONS
        ),
    }
    for anchor, replacement in anchors.items():
        if text.count(anchor) != 1:
            raise ServiceError(f"{TEMPLATE} changed: cannot find {anchor.strip()!r} to extend for the demo")
        text = text.replace(anchor, replacement)
    return text


def write_nginx_prefix(prefix: Path, config: DemoConfig) -> Path:
    """An nginx prefix folder (config, logs, temp files) that needs no root and no system paths."""
    for folder in ("logs", "tmp"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(render_nginx(TEMPLATE.read_text(encoding="utf-8"), config), encoding="utf-8")
    return conf


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        raise ServiceError("nginx is not installed; run `make system-deps` (Debian: apt-get install nginx)")
    return found


def _vigil(*args: str) -> list[str]:
    return [sys.executable, "-m", "vigil.cli", *args]


class Stack:
    def __init__(self, config: DemoConfig, paths: DemoPaths, env: Mapping[str, str]) -> None:
        self.config = config
        self.paths = paths
        self.env = dict(env)
        self.supervisor = Supervisor(paths.root)

    def check_ports(self) -> None:
        ports = {
            "nginx": self.config.nginx_port,
            "vigil app": self.config.app_port,
            "edge verifier": self.config.edge_port,
            "storefront": self.config.api_port,
        }
        for name, port in ports.items():
            if port_open(self.config.host, port):
                raise PortTakenError(f"port {port} ({name}) is taken by another program; free it or use --port-offset")

    def start_services(self) -> None:
        """The HTTP side: app (issuer and APIs), edge verifier, storefront and nginx, each waited for."""
        c, start = self.config, self.supervisor.start
        start(
            "app",
            _vigil("serve", "--host", c.host, "--port", str(c.app_port)),
            env=self.env,
            ready_url=f"{c.app_url}/healthz",
        )
        start(
            "edge",
            _vigil("edge", "serve", "--host", c.host, "--port", str(c.edge_port)),
            env=self.env,
            ready_url=f"{c.edge_url}/readyz",
        )
        start(
            "storefront",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "vigil.demo.sample_api:app_from_environment",
                "--host",
                c.host,
                "--port",
                str(c.api_port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=self.env,
            ready_url=f"{c.api_url}/readyz",
        )
        prefix = self.paths.nginx
        write_nginx_prefix(prefix, c)
        start(
            "nginx",
            [nginx_binary(), "-p", f"{prefix.resolve()}/", "-c", "nginx.conf", "-e", "logs/error.log"],
            env=self.env,
            ready_url=None,
        )
        if not _wait_port(c.host, c.nginx_port):
            raise ServiceError(f"nginx did not listen on {c.nginx_port}; see {self.paths.nginx}/logs/error.log")

    def start_shippers(self) -> None:
        """One `vigil ingest file --follow` per log: nginx access (combined), storefront lograge, exceptions."""
        files = (
            ("ship-nginx", self.paths.nginx_access_log, "nginx"),
            ("ship-storefront", self.paths.api_access_log, "json"),
            ("ship-exceptions", self.paths.api_exception_log, "rails"),
        )
        for name, path, fmt in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            self.supervisor.start(name, _vigil("ingest", "file", str(path), "--format", fmt, "--follow"), env=self.env)

    def start_worker(self) -> None:
        self.supervisor.start(
            "worker",
            _vigil("worker", f"--concurrency={self.config.worker_concurrency}", "--beat", "--loglevel=WARNING"),
            env=self.env,
        )

    def stop(self, name: str) -> None:
        self.supervisor.stop(name)

    def down(self) -> list[str]:
        return self.supervisor.stop_all()

    def urls(self) -> dict[str, str]:
        c = self.config
        return {
            "storefront via nginx + edge": f"{c.nginx_url}/api/orders",
            "Vigil app (issuer, APIs, console)": f"{c.app_url}/  (docs {c.app_url}/docs)",
            "token endpoint": f"{c.app_url}/oauth/token",
            "edge verifier": f"{c.edge_url}/verify  (metrics {c.edge_url}/metrics)",
            "app health / metrics": f"{c.app_url}/readyz  {c.app_url}/metrics",
            "logs and pids": str(self.paths.root),
        }


def _wait_port(host: str, port: int) -> bool:
    return wait_until(lambda: port_open(host, port), 20.0, 0.2)
