"""The worked example: an iris classifier served from an ONNX model, and trained to it.

`predictor train functions/iris --model-dir functions/iris/model` rebuilds the committed model
from scikit-learn's bundled iris data; a `train` channel of CSV files (a header naming the four
measurements and `species`) trains on those rows instead. Training needs scikit-learn and
skl2onnx (requirements-train.txt); serving needs neither.
"""

from __future__ import annotations

# First: with MODEL_URI=s3://..., importing predictor starts the download, which
# then overlaps the heavier imports below.
from predictor import Predictor, lambda_handler  # isort: split

import csv
import json
from pathlib import Path
from typing import Any, Literal

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


FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


class Iris(Predictor[Features, Prediction]):
    """Classifies iris flowers as setosa, versicolor or virginica."""

    version = "1"

    class Hyperparameters(BaseModel):
        max_iter: int = Field(default=1000, gt=0, description="logistic regression's iterations at most")
        test_size: float = Field(default=0.2, gt=0, lt=1, description="the share held out to report accuracy")
        random_state: int = 0

    @classmethod
    def train(cls, channels: dict[str, Path], hyperparameters: Hyperparameters, model_dir: Path) -> None:
        from skl2onnx import to_onnx
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        x, y, labels = _training_rows(channels.get("train"))
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=hyperparameters.test_size, random_state=hyperparameters.random_state, stratify=y
        )
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=hyperparameters.max_iter))
        model.fit(x_train, y_train)
        onnx_model = to_onnx(
            model, x_train[:1], options={id(model.steps[-1][1]): {"zipmap": False}}, target_opset=17
        )
        (model_dir / "model.onnx").write_bytes(onnx_model.SerializeToString())
        (model_dir / "labels.json").write_text(json.dumps(labels) + "\n")
        print(f"held-out accuracy {float(model.score(x_test, y_test)):.3f}; wrote {model_dir}")

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


def _training_rows(channel: Path | None) -> tuple[Any, Any, list[str]]:
    """Measurements (float32), class ids and the labels: the channel's CSV rows, else the bundled data."""
    if channel is None:
        from sklearn.datasets import load_iris

        iris = load_iris()
        return iris.data.astype(np.float32), iris.target, [str(name) for name in iris.target_names]
    rows = [row for path in sorted(channel.glob("*.csv")) for row in csv.DictReader(path.open())]
    labels = sorted({row["species"] for row in rows})
    x = np.array([[float(row[name]) for name in FEATURES] for row in rows], dtype=np.float32)
    return x, np.array([labels.index(row["species"]) for row in rows]), labels


handler = lambda_handler(Iris)
