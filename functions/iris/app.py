"""The worked example: an iris classifier served from an ONNX model."""

from __future__ import annotations

# First: with MODEL_URI=s3://..., importing predictor starts the download, which
# then overlaps the heavier imports below.
from predictor import Predictor, lambda_handler  # isort: split

import json
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime  # noqa: F401  (imported here so it loads while the artifacts download)
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from predictor.onnx_session import open_session

Species = Literal["setosa", "versicolor", "virginica"]


class Features(BaseModel):
    """One flower's measurements, in centimetres."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]
        }
    )

    sepal_length: float = Field(gt=0, lt=100, description="cm")
    sepal_width: float = Field(gt=0, lt=100, description="cm")
    petal_length: float = Field(gt=0, lt=100, description="cm")
    petal_width: float = Field(gt=0, lt=100, description="cm")


class Prediction(BaseModel):
    label: Species
    probabilities: dict[Species, float]


class Iris(Predictor[Features, Prediction]):
    """Classifies iris flowers as setosa, versicolor or virginica."""

    version = "1"

    def setup(self, artifacts: Path) -> None:
        # CUDA when present, else the CPU; one thread: for a model this small the pool costs more.
        self.session = open_session(artifacts / "model.onnx", max_threads=1)
        self.labels: list[Species] = json.loads((artifacts / "labels.json").read_text())
        # One validation call for the whole batch builds the Prediction models faster than one
        # constructor call per row, and checks exactly what the constructor would.
        self.predictions = TypeAdapter(list[Prediction])

    def predict(self, batch: list[Features]) -> list[Prediction]:
        rows = np.array(
            [[f.sepal_length, f.sepal_width, f.petal_length, f.petal_width] for f in batch],
            dtype=np.float32,
        )
        label_ids, probabilities = self.session.run(None, {"X": rows})
        labels = self.labels
        return self.predictions.validate_python(
            [
                {"label": labels[i], "probabilities": dict(zip(labels, p, strict=True))}
                for i, p in zip(label_ids.tolist(), probabilities.tolist(), strict=True)
            ]
        )


handler = lambda_handler(Iris)
