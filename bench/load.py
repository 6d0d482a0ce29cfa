"""HTTP load: wrk from Debian (installed if missing), else a pure-Python threaded client."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import log, percentile

THREADS = 2
CONNECTIONS = 16

# Prints one machine-readable line at the end of a wrk run. Latencies are in microseconds.
_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d mean_us=%.1f " ..
    "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def _lua_string(text: str) -> str:
    return "\"" + "".join(c if c.isalnum() or c in " {}:,._-/=+" else f"\\{ord(c):03d}" for c in text) + "\""


@dataclass
class LoadRun:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # connection errors, timeouts and non-2xx/3xx answers
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else float("nan")


class LoadGenerator:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.wrk = shutil.which("wrk")
        self.note = ""

    @property
    def tool(self) -> str:
        return "wrk" if self.wrk else "python-threads"

    def ensure_wrk(self) -> None:
        """Install Debian's wrk when missing; fall back to the Python client when that fails."""
        if self.wrk:
            return
        apt = shutil.which("apt-get")
        if apt and os.geteuid() == 0:
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            for attempt in ([apt, "install", "-y", "-q", "wrk"], [apt, "update", "-q"], [apt, "install", "-y", "-q", "wrk"]):
                log("running " + " ".join(attempt[0:1] + attempt[1:]).replace(apt, "apt-get"))
                try:
                    done = subprocess.run(attempt, env=env, capture_output=True, text=True, timeout=300)
                except (OSError, subprocess.TimeoutExpired) as exc:
                    log(f"apt-get failed: {exc}")
                    continue
                self.wrk = shutil.which("wrk")
                if self.wrk:
                    return
                if done.returncode != 0:
                    log(f"apt-get: {done.stderr.strip()[-300:]}")
        self.note = ("wrk could not be installed (needs root and Debian's apt-get); HTTP figures come from a "
                     "pure-Python threaded client, which shares the 2 cores with the server and caps the rate")

    def version(self) -> str:
        if not self.wrk:
            return "python threaded client (fallback)"
        done = subprocess.run([self.wrk, "-v"], capture_output=True, text=True, timeout=10)
        first = (done.stdout + done.stderr).strip().splitlines()
        return first[0] if first else "wrk"

    def run(self, base: str, path: str, *, seconds: float, method: str = "GET", body: dict | None = None,
            connections: int = CONNECTIONS) -> LoadRun:
        if self.wrk:
            return self._wrk(base, path, seconds=seconds, method=method, body=body, connections=connections)
        return _python_load(base, path, seconds=seconds, method=method, body=body, connections=connections)

    def _wrk(self, base: str, path: str, *, seconds: float, method: str, body: dict | None,
             connections: int) -> LoadRun:
        script = ""
        if method != "GET" or body is not None:
            script += f"wrk.method = {_lua_string(method)}\n"
            if body is not None:
                script += f"wrk.body = {_lua_string(json.dumps(body))}\n"
                script += "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
        script += _DONE
        with tempfile.NamedTemporaryFile("w", suffix=".lua", dir=self.workdir, delete=False) as fh:
            fh.write(script)
            script_path = fh.name
        cmd = [self.wrk, f"-t{THREADS}", f"-c{connections}", f"-d{max(1, int(round(seconds)))}s", "--timeout", "10s",
               "-s", script_path, base + path]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        for line in done.stdout.splitlines():
            if line.startswith("BENCH_RESULT"):
                fields = dict(part.split("=", 1) for part in line.split()[1:])
                errors = sum(int(fields[k]) for k in ("connect", "read", "write", "status", "timeout"))
                return LoadRun(int(fields["requests"]), int(fields["duration_us"]) / 1e6,
                               int(fields["p50_us"]) / 1000, int(fields["p99_us"]) / 1000, errors, "wrk")
        raise RuntimeError(f"wrk gave no result: {done.stdout[-500:]} {done.stderr[-500:]}")


def _python_load(base: str, path: str, *, seconds: float, method: str, body: dict | None,
                 connections: int = CONNECTIONS) -> LoadRun:
    """``connections`` threads, each sending one request after another until the time is up."""
    parts = urlsplit(base)
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def worker() -> None:
        mine: list[float] = []
        bad = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    bad += 1
            except OSError:
                bad += 1
            finally:
                conn.close()
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 30)
    elapsed = time.perf_counter() - start
    return LoadRun(len(latencies), elapsed, percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000,
                   errors[0], "python-threads")
