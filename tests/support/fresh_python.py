"""Code, or the `predictor` command, run in a fresh process: for what only a new process shows
(imports, init, gc state) and for the command line itself."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from support.paths import REPO

PREDICTOR_CLI = Path(sys.executable).parent / "predictor"


def run_python(
    code: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -c code args...` from the repository root (code is dedented)."""
    return _run([sys.executable, "-c", textwrap.dedent(code), *args], env, timeout)


def python_json(code: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60) -> Any:
    """The JSON value the code printed last; the test fails with its stderr if the code failed.
    (The function under test may log JSON lines to stdout first.)"""
    finished = run_python(code, *args, env=env, timeout=timeout)
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`predictor args...` from the repository root."""
    return _run([str(PREDICTOR_CLI), *args], env, timeout)


def _run(argv: list[str], env: Mapping[str, str] | None, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=REPO,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
