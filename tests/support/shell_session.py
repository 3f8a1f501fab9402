"""One page's runnable blocks, run in order as a reader would in one terminal.

Each block runs in bash from a scratch directory that holds what a checkout holds (links to the
repository's functions/, events/, .venv/, Makefile...), so what the blocks write stays out of the
repository. What a block exports is kept for the blocks after it, as a shell session keeps it.
A server block (`serves URL`) starts as a process group, stopped when the session closes. The
ports the page's servers use are moved to free ones, in every block of the page alike, so the
tests never collide with a server already on 8000 or 5000.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from support.paths import REPO
from support.processes import free_port
from support.runnable_docs import Block
from support.s3_server import clean_environ

# What a checkout holds that the documented commands use.
CHECKOUT = ("functions", "events", ".venv", "Makefile", "pyproject.toml", "requirements", "predictor")
START_TIMEOUT_S = 60.0
BLOCK_TIMEOUT_S = 120.0
SERVES = re.compile(r"^serves (?P<url>https?://(?:127\.0\.0\.1|localhost):(?P<port>\d+)\S*)$")


@dataclass(frozen=True)
class Ran:
    returncode: int
    printed: str  # stdout and stderr together, as a terminal shows them


class ShellSession:
    def __init__(self, directory: Path, runnable: list[Block]) -> None:
        self.directory = directory
        for name in CHECKOUT:
            (directory / name).symlink_to(REPO / name)
        self.state = directory / ".session-env.sh"
        self.state.write_text("")
        self.cwd = directory / ".session-cwd"
        self.ports = {
            served["port"]: str(free_port()) for block in runnable if (served := SERVES.match(block.arg))
        }
        self.environ = clean_environ(
            # Make must not rebuild .venv under the running tests (`make run` depends on `install`).
            MAKEFLAGS="-o .venv/bin/predictor",
            PORT=self.ports.get("8000", "8000"),
            # A reader with no AWS configuration: the developer's own files and roles stay out.
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
            # A reader who ran `pip install serverless-predictor` has `predictor` on PATH.
            PATH=f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        self.servers: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.serving: dict[str, subprocess.Popen[bytes]] = {}  # documented port -> its server
        self.new_section()

    def moved(self, text: str) -> str:
        """The text with each served port replaced by its free one."""
        for documented, free in self.ports.items():
            text = re.sub(rf"(?<=127\.0\.0\.1:){documented}\b", free, text)
            text = re.sub(rf"(?<=localhost:){documented}\b", free, text)
            text = re.sub(rf"(?<=--port ){documented}\b", free, text)
            text = re.sub(rf"(?<=-p ){documented}\b", free, text)
            text = re.sub(rf"(?<=PORT=){documented}\b", free, text)  # PREDICTOR_PORT, SAGEMAKER_BIND_TO_PORT
        return text

    def new_section(self) -> None:
        """Start the next blocks where the page starts (a `cd` made in one section stays there)."""
        self.cwd.write_text(str(self.directory))

    def script(self, body: str) -> str:
        state, cwd = shlex.quote(str(self.state)), shlex.quote(str(self.cwd))
        return f'set -euo pipefail\nsource {state}\ncd "$(cat {cwd})"\n{self.moved(body)}'

    def run(self, block: Block) -> Ran:
        saving = f"\nexport -p > {shlex.quote(str(self.state))}\npwd > {shlex.quote(str(self.cwd))}\n"
        finished = subprocess.run(
            ["bash", "-c", self.script(block.body) + saving],
            cwd=self.directory,
            env=self.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=BLOCK_TIMEOUT_S,
        )
        return Ran(finished.returncode, finished.stdout.decode(errors="replace"))

    def write(self, block: Block) -> None:
        path = Path(self.cwd.read_text().strip()) / block.arg.removeprefix("file ").strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.body)

    def serve(self, block: Block) -> None:
        served = SERVES.match(block.arg)
        assert served, f"{block.where}: `serves` takes a loopback URL, got {block.arg!r}"
        # A port left as documented could reach another server already there and pass by mistake.
        assert served["port"] not in self.moved(block.body), f"{block.where}: teach moved() its port"
        # A second server on a documented port replaces the first, as the reader stops it first.
        if (earlier := self.serving.get(served["port"])) is not None:
            self.stop(earlier)
        log = self.directory / f".server-{len(self.servers)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                ["bash", "-c", self.script(block.body)],
                cwd=self.directory,
                env=self.environ,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: make, bash and the server stop together
            )
        self.servers.append((process, log))
        self.serving[served["port"]] = process
        url = self.moved(served["url"])
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(
                    f"{block.where}: the server exited ({process.returncode}):\n{log.read_text()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise AssertionError(
            f"{block.where}: {url} did not answer within {START_TIMEOUT_S}s:\n{log.read_text()}"
        )

    def close(self) -> None:
        for process, _ in self.servers:
            self.stop(process)

    @staticmethod
    def stop(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
