"""Serving benchmarks' plumbing: server processes, wrk runs, CPU time of a process tree, a peers venv."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks._processes import cpu_seconds

ROOT = Path(__file__).resolve().parents[1]
PEERS_VENV = ROOT / ".venv-peers"
PEER_PACKAGES = ("mlserver==1.7.*", "bentoml==1.4.39", "onnxruntime", "numpy")
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def peers_python() -> Path | None:
    """The peers' own virtualenv (MLServer and BentoML pin their own stacks), created on first use."""
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEERS_VENV} for the serving peers (a few minutes, once)", flush=True)
        created = subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=False)
        if created.returncode != 0:
            return None
        # The pip that venv brings cannot resolve mlserver and bentoml together: upgrade it first.
        for args in (["--upgrade", "pip"], list(PEER_PACKAGES)):
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", *args], check=False)
    return python


@dataclass
class Server:
    name: str
    command: list[str]
    path: str
    body: bytes
    content_type: str = "application/json"
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"

    def start(self) -> None:
        handle, log = tempfile.mkstemp(prefix=f"bench-{self.name.split()[0]}-", suffix=".log")
        self.log = Path(log)
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        env = {**os.environ, **{k: v.replace("{port}", str(self.port)) for k, v in self.env.items()}}
        self.process = subprocess.Popen(
            command, cwd=self.cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        os.close(handle)

    def ready(self, timeout_s: float = 90.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process is not None and self.process.poll() is None:
            try:
                response = httpx.post(
                    self.url, content=self.body, headers={"content-type": self.content_type}, timeout=2
                )
                if response.status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        return False

    def output_tail(self, lines: int = 5) -> str:
        text = self.log.read_text(errors="replace") if self.log else ""
        return "\n".join(text.splitlines()[-lines:])

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and every process it started (workers, runners)."""
        assert self.process is not None
        return sum(cpu_seconds(pid) for pid in _tree(self.process.pid))


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [root], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


@dataclass(frozen=True)
class Load:
    requests_per_s: float
    cpu_us_per_request: float
    p50_ms: float
    p99_ms: float
    #: wrk's own CPU per request: far below the server's, or the load generator is what was measured.
    load_cpu_us_per_request: float = 0.0


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(server: Server, connections: int, seconds: float) -> Load:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    body = server.body.decode()
    script.write(f'wrk.method = "POST"\nwrk.body = [==[{body}]==]\n')
    script.write(f'wrk.headers["Content-Type"] = "{server.content_type}"\n')
    script.close()
    before = server.cpu_seconds()
    wrk_before = _children_cpu_seconds()
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, server.url],
        capture_output=True,
        text=True,
        check=False,
    )
    cpu = server.cpu_seconds() - before
    wrk_cpu = _children_cpu_seconds() - wrk_before
    os.unlink(script.name)
    rate = _wrk_figure(done.stdout, r"Requests/sec:\s+([\d.]+)")
    requests = max(1.0, _wrk_figure(done.stdout, r"(\d+) requests in"))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if errors:
        print(f"  {server.name}: {errors.group(1)} non-2xx answers at c{connections}", flush=True)
    return Load(
        requests_per_s=rate,
        cpu_us_per_request=cpu / requests * 1e6,
        p50_ms=_latency(done.stdout, "50%"),
        p99_ms=_latency(done.stdout, "99%"),
        load_cpu_us_per_request=wrk_cpu / requests * 1e6,
    )


def _children_cpu_seconds() -> float:
    """CPU of the waited-for children (wrk runs); servers still running are not counted."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wrk_figure(output: str, pattern: str) -> float:
    match = re.search(pattern, output)
    return float(match.group(1)) if match else 0.0


def _latency(output: str, percentile: str) -> float:
    match = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)\b", output)
    if not match:
        return 0.0
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def rotate(items: Sequence[Server], index: int) -> list[Server]:
    shift = index % len(items)
    return [*items[shift:], *items[:shift]]
