"""BentoML 1.4 service for the iris ONNX model: `bentoml serve benchmarks.serving_peers.bentoml_iris:Iris`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bentoml
import numpy as np
import onnxruntime
from pydantic import BaseModel, Field

MODEL_DIR = Path(__file__).resolve().parents[2] / "functions" / "iris" / "model"
LABELS = ["setosa", "versicolor", "virginica"]


class Features(BaseModel):
    sepal_length: float = Field(gt=0)
    sepal_width: float = Field(gt=0)
    petal_length: float = Field(gt=0)
    petal_width: float = Field(gt=0)


@bentoml.service(workers=1)
class Iris:
    def __init__(self) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(MODEL_DIR / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    @bentoml.api
    def invocations(self, instances: list[Features]) -> dict[str, Any]:
        rows = np.array(
            [[f.sepal_length, f.sepal_width, f.petal_length, f.petal_width] for f in instances],
            dtype=np.float32,
        )
        label_ids, probabilities = self.session.run(None, {"X": rows})
        return {
            "predictions": [
                {"label": LABELS[i], "probabilities": dict(zip(LABELS, p, strict=True))}
                for i, p in zip(label_ids.tolist(), probabilities.tolist(), strict=True)
            ]
        }
