"""Schemathesis against `predictor serve functions/iris`: the published OpenAPI is what the server does.

Every check (`--checks all`: responses match the schema, schema-violating requests are
refused, no 500s, ...) over a bounded, deterministic set of generated requests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.paths import REPO
from support.server_process import ServerProcess

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
IRIS = REPO / "functions" / "iris"
MAX_EXAMPLES = 100


def test_schemathesis_finds_nothing_against_the_served_openapi_document(tmp_path: Path) -> None:
    with ServerProcess(IRIS) as server:
        finished = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--generation-deterministic",
                "--workers",
                "1",
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    assert finished.returncode == 0, finished.stdout[-6000:] + finished.stderr[-2000:]
    assert "No issues found" in finished.stdout
