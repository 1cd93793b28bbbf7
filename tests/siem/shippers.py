"""Real programs the shipper tests start as their own processes: nginx writing a real access log, and rsyslog,
syslog-ng and Filebeat, each with a configuration, pid file and work directory of its own (never a system service).
syslog-ng and Filebeat live under `$VIGIL_HOME/tools`, put there by `deploy/scripts/shipper-tools.sh` (run by
`make setup`; run here too when missing, so a fresh checkout's first test run pays for the Filebeat build)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from siem import Pipeline
from tests.siem.conftest import shipper_port

NGINX = "/usr/sbin/nginx"
RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
SHIPPER_TOOLS = Path(__file__).resolve().parents[2] / "deploy" / "scripts" / "shipper-tools.sh"

_NGINX_CONF = """
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log {root}/access.log combined;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location /missing/ {{ return 404; }}
    location /fail/ {{ return 503; }}
    location / {{ return 200 "ok\\n"; }}
  }}
}}
"""


@contextmanager
def nginx_access_log(root: Path, requests: int) -> Iterator[Path]:
    """A real nginx serves `requests` varied requests (paths, statuses, agents); yields its access log."""
    port = shipper_port()
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(root=root, port=port), encoding="utf-8")
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(root)], stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _answers(base), proc, "nginx")
        (root / "access.log").write_bytes(b"")  # the readiness probes are not part of the test's log
        with httpx.Client(base_url=base) as client:
            for n in range(requests):
                folder = ("ok", "missing", "fail")[n % 3]
                client.get(f"/{folder}/{n}?q={n}", headers={"User-Agent": f'shipper-test/{n} "quoted"'})
        yield root / "access.log"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _answers(base: str) -> bool:
    try:
        httpx.get(base + "/ready", timeout=1)
    except httpx.HTTPError:
        return False
    return True


def _wait_for(ready: Callable[[], bool], proc: subprocess.Popen[bytes], name: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start in {timeout}s")
        time.sleep(0.1)


@contextmanager
def rsyslog(root: Path, config: str) -> Iterator[subprocess.Popen[bytes]]:
    """rsyslogd in the foreground with `config` (which may use `{work}` for its work directory)."""
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    conf = root / "rsyslog.conf"
    conf.write_text(f'global(workDirectory="{work}")\n' + config, encoding="utf-8")
    check = subprocess.run([RSYSLOGD, "-N1", "-f", str(conf)], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"rsyslog refused its configuration: {check.stderr or check.stdout}")
    proc = subprocess.Popen(
        [RSYSLOGD, "-n", "-f", str(conf), "-i", str(root / "rsyslogd.pid")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


#: rsyslog's document for Vigil's bulk door: the line in `message`, no trailing newline (omelasticsearch adds one,
#: and its retry path cannot read back a request holding blank lines).
VIGIL_DOC = 'template(name="vigil-doc" type="string" string="{\\"message\\":\\"%msg:::json%\\"}")\n'


def omelasticsearch_ruleset(name: str, index: str, *, port: str, token: str, refused: Path, errors: Path) -> str:
    """The documented retry set-up (docs/siem.md, "rsyslog: omelasticsearch"). With `retryfailures`, rsyslog sends
    every item of a bulk answer that holds an error back through `retryruleset` with the answer in `$.omes`:
    answered items (2xx, 409) stop there, items that can never succeed (400) go to a file, the rest (429, 503) are
    sent again."""
    return f"""
ruleset(name="{name}") {{
  if strlen($.omes!status) > 0 then {{
    if $.omes!status == 200 or $.omes!status == 201 or $.omes!status == 409 then stop
    if $.omes!status == 400 then {{
      action(type="omfile" file="{refused}")
      stop
    }}
  }}
  action(type="omelasticsearch" server="127.0.0.1" serverport="{port}" searchIndex="{index}"
         template="vigil-doc" bulkmode="on" esVersion.major="8" uid="shipper" pwd="{token}"
         retryfailures="on" retryruleset="{name}" ratelimit.interval="0"
         errorFile="{errors}" action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"""


def exception_log(path: Path, count: int) -> Path:
    """A JSON exception log as services write it, one object a line, each with its own request id."""
    path.write_text(
        "".join(
            json.dumps({"service": "billing", "request_id": f"req-{n}", "error": {"type": "KeyError"}}) + "\n"
            for n in range(count)
        ),
        encoding="utf-8",
    )
    return path


def shipper_tool(name: str) -> Path:
    """The path of `syslog-ng` or `filebeat` under `$VIGIL_HOME/tools`, unpacked or built on first use."""
    done = subprocess.run(["bash", str(SHIPPER_TOOLS), name], capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{SHIPPER_TOOLS.name} {name} failed: {done.stderr.strip()}")
    return Path(done.stdout.strip().splitlines()[-1])


@contextmanager
def syslog_ng(root: Path, config: str) -> Iterator[subprocess.Popen[bytes]]:
    """syslog-ng in the foreground from its unpacked packages, with `config` after the `@version` line; `{scl}`
    in it names the folder of the packaged configuration library (`{scl}/elasticsearch/elastic-http.conf`)."""
    binary = shipper_tool("syslog-ng")
    prefix = binary.parents[2]
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "syslog-ng.conf"
    scl = prefix / "usr" / "share" / "syslog-ng" / "include" / "scl"
    conf.write_text("@version: 3.38\n" + config.replace("{scl}", str(scl)), encoding="utf-8")
    libraries = [prefix / "usr" / "lib" / "x86_64-linux-gnu", prefix / "lib" / "x86_64-linux-gnu"]
    env = {
        **os.environ,
        "LD_LIBRARY_PATH": ":".join(str(p) for p in [*libraries, prefix / "usr" / "lib" / "syslog-ng"]),
    }
    command = [
        str(binary), "-F", "-e", "-f", str(conf), "--module-path", str(prefix / "usr" / "lib" / "syslog-ng" / "3.38"),
        "-R", str(root / "persist"), "-c", str(root / "ctl"), "-p", str(root / "pid"),
    ]  # fmt: skip
    check = subprocess.run([*command, "--syntax-only"], env=env, capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"syslog-ng refused its configuration: {check.stderr or check.stdout}")
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@contextmanager
def filebeat(root: Path, config: str) -> Iterator[subprocess.Popen[bytes]]:
    """Filebeat in the foreground with `config` (YAML), its data and logs under `root`, logging to stderr."""
    binary = shipper_tool("filebeat")
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "filebeat.yml"
    conf.write_text(config, encoding="utf-8")
    conf.chmod(0o600)  # Filebeat refuses a configuration file others may write
    command = [str(binary), "-c", str(conf), "--path.home", str(root), "--path.data", str(root / "data"), "-e"]
    check = subprocess.run([*command, "test", "config"], capture_output=True, text=True, timeout=60)
    if check.returncode != 0:
        raise RuntimeError(f"Filebeat refused its configuration: {check.stderr or check.stdout}")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def slow_worker(pipeline: Pipeline, every: float = 0.2) -> Iterator[None]:
    """A worker running one batch every `every` seconds: a queue with a low mark stays at it, so a shipper meets
    429s (whole batches and single items) and its own retry has to recover."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            pipeline.run_once()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=20)
