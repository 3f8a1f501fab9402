"""The iris endpoint as the usual tutorials write it: the cold-start peer.

Import everything, download each model object in turn with `download_file`, load
the ONNX session, then hand API Gateway events to FastAPI through Mangum.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import numpy as np
import onnxruntime
from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel

MODEL_URI = os.environ["MODEL_URI"]
MODEL_DIR = Path(os.environ.get("NAIVE_MODEL_DIR", "/tmp/model"))


def download_model(uri: str, directory: Path) -> None:
    parsed = urlparse(uri)
    bucket, prefix = parsed.netloc, parsed.path.lstrip("/")
    s3 = boto3.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            target = directory / item["Key"][len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))


download_model(MODEL_URI, MODEL_DIR)
# The same session options as functions/iris/app.py, so only the loading strategy differs.
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = 1
session = onnxruntime.InferenceSession(
    str(MODEL_DIR / "model.onnx"), options, providers=["CPUExecutionProvider"]
)
labels: list[str] = json.loads((MODEL_DIR / "labels.json").read_text())


class Features(BaseModel):
    sepal_length: float
    sepal_width: float
    petal_length: float
    petal_width: float


class PredictRequest(BaseModel):
    instances: list[Features]


app = FastAPI()


@app.post("/predict")
def predict(request: PredictRequest) -> dict[str, Any]:
    rows = np.array(
        [[f.sepal_length, f.sepal_width, f.petal_length, f.petal_width] for f in request.instances],
        dtype=np.float32,
    )
    label_ids, probabilities = session.run(None, {"X": rows})
    return {
        "predictions": [
            {"label": labels[i], "probabilities": dict(zip(labels, p.tolist(), strict=True))}
            for i, p in zip(label_ids.tolist(), probabilities, strict=True)
        ]
    }


handler = Mangum(app)
