"""The predictor this project serves and trains: edit the schemas, `train` and `predict`, then
rebuild model/ with `make train` (`predictor train . --model-dir model`)."""

from __future__ import annotations

# First: with MODEL_URI=s3://..., importing predictor starts the download, which
# then overlaps the imports below.
from predictor import Predictor, lambda_handler  # isort: split

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

#: What `train` writes into the model directory and `setup` reads back.
MODEL_FILE = "model.json"
#: The classes of the synthetic data set, and the centre (length, width) of each.
CENTRES = {"small": (1.5, 0.4), "medium": (4.3, 1.3), "large": (6.0, 2.1)}


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

    class Hyperparameters(BaseModel):
        steps: int = Field(default=500, gt=0, description="gradient descent steps")
        rate: float = Field(default=0.5, gt=0, description="gradient descent's learning rate")
        seed: int = Field(default=0, description="seeds the synthetic data, used without a train channel")

    @classmethod
    def train(cls, channels: dict[str, Path], hyperparameters: Hyperparameters, model_dir: Path) -> None:
        # A multinomial logistic regression fitted with numpy alone. Without a `train` channel it
        # learns a small synthetic data set made here with a fixed seed, so it works offline.
        x, y, labels = training_data(channels.get("train"), hyperparameters.seed)
        model = fit(x, y, labels, hyperparameters.steps, hyperparameters.rate)
        (model_dir / MODEL_FILE).write_text(json.dumps(model, indent=2) + "\n")
        print(f"training accuracy {accuracy(model, x, y):.3f}; wrote {model_dir / MODEL_FILE}")

    def setup(self, artifacts: Path) -> None:
        # Runs once per cold start: load the model `train` wrote into model/.
        model = json.loads((artifacts / MODEL_FILE).read_text())
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


def training_data(channel: Path | None, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features, class ids and labels: the rows of the channel's CSV files (a header naming
    `length`, `width` and `label`), else the synthetic data set."""
    if channel is None:
        rng = np.random.default_rng(seed)
        x = np.concatenate([rng.normal(centre, (0.4, 0.2), size=(100, 2)) for centre in CENTRES.values()])
        return np.clip(x, 0, None), np.repeat(np.arange(len(CENTRES)), 100), list(CENTRES)
    rows: list[dict[str, str]] = []
    for path in sorted(channel.glob("*.csv")):
        reader = csv.DictReader(path.read_text().splitlines())
        if not {"length", "width", "label"} <= set(reader.fieldnames or ()):
            raise ValueError(f"{path}: the first line must be a header naming length, width and label")
        rows += reader
    if not rows:
        raise ValueError(f"no CSV rows in {channel}: add .csv files with a header length,width,label")
    labels = sorted({row["label"] for row in rows})
    x = np.array([[float(row["length"]), float(row["width"])] for row in rows])
    return x, np.array([labels.index(row["label"]) for row in rows]), labels


def fit(x: np.ndarray, y: np.ndarray, labels: list[str], steps: int, rate: float) -> dict[str, Any]:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant column carries no information; keep it from dividing by 0
    z = (x - mean) / scale
    onehot = np.eye(len(labels))[y]
    weights, bias = np.zeros((x.shape[1], len(labels))), np.zeros(len(labels))
    for _ in range(steps):
        scores = z @ weights + bias
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        weights -= rate * z.T @ (p - onehot) / len(z)
        bias -= rate * (p - onehot).mean(axis=0)
    return {
        "labels": labels,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "weights": weights.tolist(),
        "bias": bias.tolist(),
    }


def accuracy(model: dict[str, Any], x: np.ndarray, y: np.ndarray) -> float:
    z = (x - np.array(model["mean"])) / np.array(model["scale"])
    return float(((z @ np.array(model["weights"]) + model["bias"]).argmax(axis=1) == y).mean())


# The Lambda entry point (`Handler: app.handler` in template.yaml); setup runs here, at init.
handler = lambda_handler(Classifier)
