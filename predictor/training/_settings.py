"""Where a training job's inputs are and where its outputs go: SageMaker's /opt/ml layout,
each directory overridden by the training toolkit's `SM_*` variable when set."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from predictor._environ import env

MODEL_DIR_ENV = "SM_MODEL_DIR"
INPUT_DIR_ENV = "SM_INPUT_DIR"
INPUT_CONFIG_DIR_ENV = "SM_INPUT_CONFIG_DIR"
OUTPUT_DIR_ENV = "SM_OUTPUT_DIR"
HYPERPARAMETERS_ENV = "SM_HPS"
#: One variable per channel, the channel's name upper-cased: SM_CHANNEL_TRAIN=/data/train.
CHANNEL_ENV_PREFIX = "SM_CHANNEL_"

OPT_ML = Path("/opt/ml")


@dataclass(frozen=True)
class TrainingSettings:
    model_dir: Path = field(
        default=OPT_ML / "model",
        metadata=env(MODEL_DIR_ENV, "where `train` writes the model (SageMaker tars it to model.tar.gz)"),
    )
    input_dir: Path = field(
        default=OPT_ML / "input",
        metadata=env(INPUT_DIR_ENV, "holds `config/` and the channels under `data/<channel>`"),
    )
    input_config_dir: Path = field(
        default=OPT_ML / "input" / "config",
        metadata=env(
            INPUT_CONFIG_DIR_ENV,
            "holds hyperparameters.json, inputdataconfig.json and resourceconfig.json",
            default="`config` under the input directory",
        ),
    )
    output_dir: Path = field(
        default=OPT_ML / "output",
        metadata=env(OUTPUT_DIR_ENV, "where a failed training writes `failure`, its reason"),
    )
    #: Decoded by the job, so a bad value is the job's failure, reported as one.
    hyperparameters_json: str | None = field(
        default=None,
        metadata=env(
            HYPERPARAMETERS_ENV,
            "the hyperparameters as one JSON object; wins over hyperparameters.json",
            default="none: hyperparameters.json",
        ),
    )
    #: Channel directories named by SM_CHANNEL_<NAME>, by upper-cased name; they win over the layout's.
    channels: Mapping[str, Path] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> TrainingSettings:
        environ = os.environ if environ is None else environ
        input_dir = Path(environ.get(INPUT_DIR_ENV) or cls.input_dir)
        return cls(
            model_dir=Path(environ.get(MODEL_DIR_ENV) or cls.model_dir),
            input_dir=input_dir,
            input_config_dir=Path(environ.get(INPUT_CONFIG_DIR_ENV) or input_dir / "config"),
            output_dir=Path(environ.get(OUTPUT_DIR_ENV) or cls.output_dir),
            hyperparameters_json=environ.get(HYPERPARAMETERS_ENV) or None,
            channels={
                name.removeprefix(CHANNEL_ENV_PREFIX): Path(value)
                for name, value in environ.items()
                if name.startswith(CHANNEL_ENV_PREFIX) and len(name) > len(CHANNEL_ENV_PREFIX) and value
            },
        )

    @property
    def failure_file(self) -> Path:
        return self.output_dir / "failure"
