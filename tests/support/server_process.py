"""Run `predictor serve` as a real process on a free loopback port, for tests that call it over a socket."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from support.fresh_python import PREDICTOR_CLI
from support.paths import REPO
from support.processes import HOST, free_port, stop

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class ServerProcess:
    """`predictor serve FUNCTION --port N`; the output goes to a file so a full pipe never stalls it."""

    def __init__(
        self,
        function: str | Path,
        env: Mapping[str, str] | None = None,
        *,
        cwd: str | Path = REPO,
        start_timeout_s: float = START_TIMEOUT_S,
        cli: Path = PREDICTOR_CLI,
    ) -> None:
        self.function = str(function)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.cwd = Path(cwd)
        self.start_timeout_s = start_timeout_s
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self._log = tempfile.NamedTemporaryFile(prefix="predictor-serve-", suffix=".log")  # noqa: SIM115
        self._process: subprocess.Popen[bytes] | None = None
        self._final_output: str | None = None
        self.command = [str(cli), "serve", self.function, "--host", HOST, "--port", str(self.port)]

    def start(self) -> ServerProcess:
        return self.launch().wait_until_listening()

    def launch(self) -> ServerProcess:
        """Start the process without waiting, so several servers can boot side by side."""
        self._process = subprocess.Popen(
            self.command, cwd=self.cwd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        return self

    def wait_until_listening(self) -> ServerProcess:
        process = self._process
        assert process is not None, "launch() first"
        command = " ".join(self.command)
        deadline = time.monotonic() + self.start_timeout_s
        while process.poll() is None and time.monotonic() < deadline:
            if _answers(self.port):
                return self
            time.sleep(0.05)
        if process.poll() is None:
            failure = f"{command} did not listen within {self.start_timeout_s}s"
        else:
            failure = f"{command} exited with {process.returncode} before listening"
        self.close()
        raise RuntimeError(f"{failure}:\n{self.output()}")

    @property
    def pid(self) -> int:
        assert self._process is not None, "launch() first"
        return self._process.pid

    def output(self) -> str:
        """Everything the process wrote so far (stdout and stderr: uvicorn's and the predictor's logs)."""
        if self._final_output is not None:
            return self._final_output
        return Path(self._log.name).read_text(errors="replace")

    def terminate(self) -> None:
        """Ask the process to shut down without waiting for it."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()

    def stop(self) -> None:
        if self._process is not None:
            stop(self._process, STOP_TIMEOUT_S)

    def close(self) -> None:
        self.stop()
        if self._final_output is None:
            self._final_output = self.output()
            self._log.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@contextmanager
def serve(function: str | Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Serve a function for the duration of the block; yields its base URL."""
    with ServerProcess(function, env) as server:
        yield server.url


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class Probe:
    """A GET sent while a long predict call was running: its answer and how long it took."""

    answer: httpx.Response
    seconds: float
    predicted: httpx.Response


def probe_while_predicting(url: str, predict_path: str, body: dict[str, Any], probe_path: str) -> Probe:
    """POST `body` to `predict_path`, and 0.3 s into it GET `probe_path`; both over one client."""

    async def during() -> Probe:
        async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=10) as client:
            predict = asyncio.create_task(client.post(predict_path, json=body))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            answer = await client.get(probe_path)
            seconds = time.monotonic() - started
            return Probe(answer, seconds, await predict)

    return asyncio.run(during())
