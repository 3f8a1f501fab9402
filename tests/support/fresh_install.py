"""serverless-predictor as a new user has it: the wheel built from this tree, installed without its
path into a fresh virtualenv outside the repository, and projects `predictor init` writes there."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from support.paths import REPO

BUILD_TIMEOUT_S = 300
# The runtime dependencies with [serve,onnx] (and [images]), hash-pinned; the wheel goes on top
# with --no-deps and `pip check` proves the lock meets every requirement its metadata declares.
RUNTIME_LOCK = REPO / "requirements" / "image.txt"


@dataclass(frozen=True)
class FreshInstall:
    wheel: Path
    sdist: Path
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def env(self) -> dict[str, str]:
        """The environment a user has with the virtualenv activated: nothing of this repository."""
        environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        path = os.pathsep.join([str(self.bin), environ.get("PATH", "")])
        return {**environ, "PATH": path, "VIRTUAL_ENV": str(self.venv), "PYTHONDONTWRITEBYTECODE": "1"}

    def run(
        self,
        argv: Sequence[str],
        cwd: Path,
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv),
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def init(self, parent: Path, name: str = "my-model") -> Path:
        done = self.run([str(self.bin / "predictor"), "init", name], parent)
        assert done.returncode == 0, done.stderr
        return parent / name


def build_distributions(out_dir: Path) -> tuple[Path, Path]:
    """The sdist, and the wheel built from it (as `uv build` and PyPI users get it)."""
    uv = Path(sys.executable).parent / "uv"
    command = [
        str(uv),
        "build",
        "--no-build-isolation",
        "--python",
        sys.executable,
        "--out-dir",
        str(out_dir),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    (wheel,) = out_dir.glob("serverless_predictor-*.whl")
    (sdist,) = out_dir.glob("serverless_predictor-*.tar.gz")
    return wheel, sdist


def make_virtualenv(venv: Path, wheel: Path) -> None:
    python = venv / "bin" / "python"
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--require-hashes",
            "--no-deps",
            "-r",
            str(RUNTIME_LOCK),
        ],
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        [str(python), "-m", "pip", "check"],
    ]
    for step in steps:
        done = subprocess.run(step, cwd=venv.parent, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        assert done.returncode == 0, f"{' '.join(step)}:\n{done.stdout}\n{done.stderr}"
