"""resolve_artifacts in this process, with extra settings, or in a fresh one with its own endpoint and
credentials."""

from __future__ import annotations

import os
from pathlib import Path

from predictor.artifacts import resolve_artifacts
from support.fresh_python import python_json
from support.s3_server import clean_environ

# An error that fails fast takes less than this, retries included.
FAIL_FAST_S = 2.0


def resolve(uri: str, **settings: str) -> Path:
    return resolve_artifacts(uri, environ={**os.environ, **settings})


# The IAM-enforcing server needs its own endpoint and credentials: a process of their own.
FRESH_RESOLVE = """
import json, sys, time
from predictor.artifacts import ArtifactsError, resolve_artifacts
started = time.monotonic()
try:
    resolve_artifacts(sys.argv[1])
    error = None
except ArtifactsError as exc:
    error = str(exc)
print(json.dumps({"error": error, "elapsed": time.monotonic() - started}))
"""


def resolve_in_fresh_process(uri: str, env: dict[str, str], tmp_path: Path) -> tuple[str | None, float]:
    """resolve_artifacts(uri) in a new interpreter: (the ArtifactsError message or None, seconds taken)."""
    answer = python_json(
        FRESH_RESOLVE, uri, env=clean_environ(**env, PREDICTOR_CACHE_DIR=str(tmp_path / "fresh-cache"))
    )
    return answer["error"], answer["elapsed"]
