"""A SageMaker training layout under a temporary root, and `predictor train` run on it as a process."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from support.fresh_python import PREDICTOR_CLI
from support.paths import REPO
from support.s3_server import clean_environ


@dataclass
class OptMl:
    """/opt/ml in miniature: input/config/*.json, input/data/<channel>/, model/ and output/."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def failure(self) -> Path:
        return self.root / "output" / "failure"

    def write_config(self, hyperparameters: dict[str, str], channels: dict[str, dict[str, str]]) -> None:
        """The three files SageMaker writes, as it writes them (hyperparameter values are strings)."""
        config = self.root / "input" / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
        data_config = {
            name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"} for name in channels
        }
        (config / "inputdataconfig.json").write_text(json.dumps(data_config))
        resources = {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
        (config / "resourceconfig.json").write_text(json.dumps(resources))
        for name, files in channels.items():
            directory = self.root / "input" / "data" / name
            directory.mkdir(parents=True, exist_ok=True)
            for file_name, text in files.items():
                (directory / file_name).write_text(text)

    def environ(self, **extra: str) -> dict[str, str]:
        """The training toolkit's variables pointing at this root."""
        return clean_environ(
            SM_MODEL_DIR=str(self.model),
            SM_INPUT_DIR=str(self.root / "input"),
            SM_INPUT_CONFIG_DIR=str(self.root / "input" / "config"),
            SM_OUTPUT_DIR=str(self.root / "output"),
            **self.env,
            **extra,
        )


def train_command(function: str | Path, *args: str) -> list[str]:
    return [str(PREDICTOR_CLI), "train", str(function), *args]


def run_train(
    function: str | Path, env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        train_command(function, *args),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def model_tar_gz(model_dir: Path) -> bytes:
    """model.tar.gz as SageMaker packs /opt/ml/model: the directory's files at the archive's top."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(model_dir.iterdir()):
            archive.add(path, arcname=path.name)
    return buffer.getvalue()
