"""Load generators and process accounting for the HTTP benchmarks.

- `wrk`: closed loop (each connection sends its next request when the last answer arrives), the throughput view.
- `vegeta`: open loop at a constant rate (requests leave on schedule whether or not answers came back, so a
  stall shows in the latency instead of hiding in a lower rate), the tail view. When vegeta is absent the paced
  wrk fallback is labelled as such.
- `ProcessTree`: RSS and CPU time of a server and all its worker processes, read from /proc.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
_TICKS = 100  # USER_HZ: /proc/<pid>/stat counts CPU time in these


class ProcessTree:
    """A server process and its descendants (workers), as /proc shows them now."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def pids(self) -> list[int]:
        found, queue = [], [self.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                try:
                    queue += [int(c) for c in task.read_text().split()]
                except OSError:
                    continue
        return found

    def rss_mib(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total / 1024

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / _TICKS


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int
    peak_rss_mib: float
    cpu_us_per_request: float


def _watch(proc: subprocess.Popen[str], tree: ProcessTree) -> tuple[str, float]:
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree.rss_mib())
        time.sleep(0.25)
    return (proc.stdout.read() if proc.stdout else ""), peak


def wrk(url: str, script: Path, connections: int, seconds: float, tree: ProcessTree, threads: int = 1) -> LoadResult:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "--timeout", "10s"]
    cpu = tree.cpu_seconds()
    proc = subprocess.Popen([*cmd, "-s", str(script), url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, peak = _watch(proc, tree)
    cpu = tree.cpu_seconds() - cpu
    if proc.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed: {out[-500:]}")

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    requests = int(total.group(1)) if total else 0
    return LoadResult(
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        requests=requests,
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        errors=sum(int(x) for x in errors.groups()) if errors else 0,
        peak_rss_mib=peak,
        cpu_us_per_request=cpu * 1e6 / requests if requests else float("nan"),
    )


def wrk_script(
    folder: Path, name: str, tokens: list[str], headers: dict[str, str], delay_ms: float | None = None
) -> Path:
    """A wrk Lua script sending `tokens` round-robin as bearer tokens, with fixed extra headers."""
    extra = "".join(f", [{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    lua = [
        "tokens = {" + ",".join(json.dumps(t) for t in tokens) + "}",
        "i = 0",
        "request = function()",
        "  i = i % #tokens + 1",
        f'  return wrk.format(nil, nil, {{["Authorization"] = "Bearer " .. tokens[i]{extra}}})',
        "end",
    ]
    if delay_ms is not None:
        lua += ["delay = function()", f"  return {delay_ms:.2f}", "end"]
    script = folder / f"{name}.lua"
    script.write_text("\n".join(lua) + "\n", encoding="utf-8")
    return script


def vegeta(
    binary: Path, url: str, tokens: list[str], headers: dict[str, str], rate: float, seconds: float, tree: ProcessTree
) -> LoadResult:
    """`rate` requests per second for `seconds`, open loop, tokens round-robin; latency as vegeta measured it."""
    with tempfile.TemporaryDirectory() as tmp:
        targets = Path(tmp) / "targets.jsonl"
        with targets.open("w", encoding="utf-8") as out:
            for token in tokens:
                header = {"Authorization": [f"Bearer {token}"], **{k: [v] for k, v in headers.items()}}
                out.write(json.dumps({"method": "GET", "url": url, "header": header}) + "\n")
        results = Path(tmp) / "results.bin"
        cpu = tree.cpu_seconds()
        attack = [
            str(binary),
            "attack",
            "-format=json",
            f"-targets={targets}",
            f"-rate={max(1, round(rate))}/s",
            f"-duration={seconds:.0f}s",
            "-keepalive=true",
            "-timeout=10s",
            f"-output={results}",
        ]
        proc = subprocess.Popen(attack, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        log, peak = _watch(proc, tree)
        cpu = tree.cpu_seconds() - cpu
        if proc.returncode != 0:
            raise RuntimeError(f"vegeta attack failed: {log[-500:]}")
        report = json.loads(
            subprocess.run(
                [str(binary), "report", "-type=json", str(results)], capture_output=True, text=True, check=True
            ).stdout
        )
    requests = int(report["requests"])
    codes = {int(k): int(v) for k, v in (report.get("status_codes") or {}).items()}
    return LoadResult(
        rps=float(report["throughput"]),
        p50_ms=report["latencies"]["50th"] / 1e6,
        p99_ms=report["latencies"]["99th"] / 1e6,
        requests=requests,
        non_2xx=sum(v for k, v in codes.items() if not 200 <= k < 300),
        errors=codes.get(0, 0),
        peak_rss_mib=peak,
        cpu_us_per_request=cpu * 1e6 / requests if requests else float("nan"),
    )
