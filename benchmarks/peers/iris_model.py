"""The iris model as the peers use it: one request model, one ONNX session, plain dicts out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
from pydantic import BaseModel, Field


class Features(BaseModel):
    sepal_length: float = Field(gt=0)
    sepal_width: float = Field(gt=0)
    petal_length: float = Field(gt=0)
    petal_width: float = Field(gt=0)


class IrisRequest(BaseModel):
    instances: list[Features] = Field(min_length=1)


class IrisModel:
    def __init__(self, model_dir: Path) -> None:
        # The same session options as functions/iris/app.py, so only the adapters differ.
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.labels: list[str] = json.loads((model_dir / "labels.json").read_text())

    def predict(self, instances: list[Features]) -> list[dict[str, Any]]:
        rows = np.array(
            [[f.sepal_length, f.sepal_width, f.petal_length, f.petal_width] for f in instances],
            dtype=np.float32,
        )
        label_ids, probabilities = self.session.run(None, {"X": rows})
        labels = self.labels
        return [
            {"label": labels[i], "probabilities": dict(zip(labels, p, strict=True))}
            for i, p in zip(label_ids.tolist(), probabilities.tolist(), strict=True)
        ]
