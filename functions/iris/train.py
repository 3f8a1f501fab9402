"""Train the example iris classifier and export it to ONNX.

Run from the repository root: `python functions/iris/train.py`. The output,
functions/iris/model/model.onnx, is committed so the example works offline.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from skl2onnx import to_onnx
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

MODEL_DIR = Path(__file__).parent / "model"


def main() -> None:
    iris = load_iris()
    x = iris.data.astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, iris.target, test_size=0.2, random_state=0, stratify=iris.target
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x_train, y_train)
    accuracy = float(model.score(x_test, y_test))

    onnx_model = to_onnx(
        model,
        x_train[:1],
        options={id(model.steps[-1][1]): {"zipmap": False}},
        target_opset=17,
    )
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    (MODEL_DIR / "model.onnx").write_bytes(onnx_model.SerializeToString())
    labels = [str(name) for name in iris.target_names]
    (MODEL_DIR / "labels.json").write_text(json.dumps(labels) + "\n")
    print(f"held-out accuracy {accuracy:.3f}; wrote {MODEL_DIR}")


if __name__ == "__main__":
    main()
