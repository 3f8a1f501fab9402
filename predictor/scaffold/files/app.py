"""The predictor this project serves: edit the schemas and `predict`, then retrain with `python train.py`."""

from __future__ import annotations

# First: with MODEL_URI=s3://..., importing predictor starts the download, which
# then overlaps the imports below.
from predictor import Predictor, lambda_handler  # isort: split

import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class Features(BaseModel):
    """One instance to classify. Replace these fields with your model's inputs."""

    # The example /docs shows, that the tests and `predictor check` send and events/ carry.
    model_config = ConfigDict(json_schema_extra={"examples": [{"length": 4.1, "width": 1.3}]})

    length: float = Field(ge=0, le=100, description="cm")
    width: float = Field(ge=0, le=100, description="cm")


class Prediction(BaseModel):
    label: str
    probabilities: dict[str, float]


class Classifier(Predictor[Features, Prediction]):
    """Classifies an instance as small, medium or large."""

    version = "1"

    def setup(self, artifacts: Path) -> None:
        # Runs once per cold start: load the model train.py wrote into model/.
        model = json.loads((artifacts / "model.json").read_text())
        self.labels: list[str] = model["labels"]
        self.mean = np.array(model["mean"])
        self.scale = np.array(model["scale"])
        self.weights = np.array(model["weights"])
        self.bias = np.array(model["bias"])

    def predict(self, batch: list[Features]) -> list[Prediction]:
        # Batch-first: one matrix product for every instance of a request, SQS batch or S3 file.
        rows = np.array([[f.length, f.width] for f in batch])
        scores = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        probabilities = scores / scores.sum(axis=1, keepdims=True)
        return [
            Prediction(
                label=self.labels[int(p.argmax())],
                probabilities={label: float(v) for label, v in zip(self.labels, p, strict=True)},
            )
            for p in probabilities
        ]


# The Lambda entry point (`Handler: app.handler` in template.yaml); setup runs here, at init.
handler = lambda_handler(Classifier)
