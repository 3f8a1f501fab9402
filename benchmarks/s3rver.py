"""An s3rver process on loopback: an S3 server whose range reads cost only what they read.

moto's server re-reads the whole object for every ranged GET, which would make
parallel range fetching look slow for reasons that do not exist on real S3.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from benchmarks import _processes

HERE = Path(__file__).resolve().parent
BIN = HERE / "node_modules" / ".bin" / "s3rver"
# s3rver's built-in account; it verifies SigV4 signatures made with this key pair.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER"}
REGION = "us-east-1"


def ensure_installed() -> None:
    """Install the pinned s3rver from package-lock.json when node_modules is missing."""
    if BIN.exists():
        return
    if shutil.which("npm") is None:
        raise RuntimeError("the benchmarks need Node.js and npm to run s3rver; install them first")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True, timeout=300)


def version() -> str:
    manifest = HERE / "node_modules" / "s3rver" / "package.json"
    return str(json.loads(manifest.read_text())["version"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3rver:
    """`with S3rver() as s3:` starts the server on a free port with a fresh data directory."""

    def __init__(self, parent_dir: str | None = None) -> None:
        self.parent_dir = parent_dir
        self.port = 0
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """Variables that point boto3 (in this process or a child) at this server."""
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            **CREDENTIALS,
        }

    def client(self, endpoint: str | None = None, **config: Any) -> Any:
        """A boto3 S3 client for this server, or for a proxy in front of it at `endpoint`."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint or self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(s3={"addressing_style": "path"}, **config),
        )

    def start(self) -> S3rver:
        ensure_installed()
        self.directory = Path(tempfile.mkdtemp(prefix="s3rver-", dir=self.parent_dir))
        self.port = _free_port()
        command = [str(BIN), "-d", str(self.directory), "-a", "127.0.0.1", "-p", str(self.port), "--silent"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"s3rver exited with {self.process.returncode}: {stderr}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"s3rver did not listen on port {self.port} within 30 s")

    def stop(self) -> None:
        if self.process is not None:
            _processes.stop(self.process)
            self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> S3rver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def apply_env(env: dict[str, str]) -> dict[str, str | None]:
    """Set variables in os.environ (boto3 reads them there); returns what to restore."""
    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    return previous


def restore_env(previous: dict[str, str | None]) -> None:
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
