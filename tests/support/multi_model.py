"""A multi-model `predictor serve` (SAGEMAKER_MULTI_MODEL=true) as a process, the model directories
SageMaker would put under /opt/ml/models, and the server's resident memory read from /proc."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from support.paths import FIXTURES
from support.s3_server import clean_environ
from support.server_process import ServerProcess

FROM_ARTIFACTS = FIXTURES / "from_artifacts.py"


def model_dir(root: Path, name: str, **settings: Any) -> str:
    """/opt/ml/models/<name>/model in miniature, holding the fixture's settings.json."""
    directory = root / "models" / name / "model"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "settings.json").write_text(json.dumps(settings))
    return str(directory)


@dataclass
class MultiModelServer:
    server: ServerProcess
    client: httpx.Client
    setup_log: Path

    def load(self, name: str, url: str) -> httpx.Response:
        return self.client.post("/models", json={"model_name": name, "url": url})

    def invoke(self, name: str, x: float = 1.0, **headers: str) -> httpx.Response:
        return self.client.post(
            f"/models/{name}/invoke", json={"instances": [{"x": x, "name": "n"}]}, headers=headers
        )

    def setup_lines(self) -> list[str]:
        """What the fixture logged: each setup's directory, each teardown's "teardown <directory>"."""
        return self.setup_log.read_text().splitlines() if self.setup_log.exists() else []

    def setups(self) -> list[str]:
        return [line for line in self.setup_lines() if not line.startswith("teardown ")]

    def resident_bytes(self) -> int:
        """VmRSS of the server process, from its /proc status."""
        for line in Path(f"/proc/{self.server.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS line")


@contextmanager
def multi_model_server(
    tmp_path: Path, function: Path = FROM_ARTIFACTS, **env: str
) -> Iterator[MultiModelServer]:
    setup_log = tmp_path / "setup.log"
    environ = clean_environ(SAGEMAKER_MULTI_MODEL="true", SETUP_LOG=str(setup_log), **env)
    with (
        ServerProcess(function, environ) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client,
    ):
        yield MultiModelServer(server, client, setup_log)


def predictions(response: httpx.Response) -> list[float]:
    assert response.status_code == 200, response.text
    return [prediction["doubled"] for prediction in response.json()["predictions"]]
