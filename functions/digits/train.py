"""Train the digits classifier (an MLP on scikit-learn's bundled 8x8 digits) and export it to ONNX.

Run from the repository root: `python functions/digits/train.py`. The output,
functions/digits/model/model.onnx (about 2.5 MB), is committed so the example works offline.
The hidden layers are wide on purpose: one instance costs a measurable share of a
millisecond, so serving it shows what dynamic batching buys.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skl2onnx import to_onnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

MODEL_DIR = Path(__file__).parent / "model"
HIDDEN = (768, 768)


def main() -> None:
    digits = load_digits()
    x = digits.data.astype(np.float32) / 16.0
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.2, random_state=0, stratify=digits.target
    )
    model = MLPClassifier(hidden_layer_sizes=HIDDEN, max_iter=200, random_state=0)
    model.fit(x_train, y_train)
    accuracy = float(model.score(x_test, y_test))
    onnx_model = to_onnx(model, x_train[:1], options={id(model): {"zipmap": False}}, target_opset=17)
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    (MODEL_DIR / "model.onnx").write_bytes(onnx_model.SerializeToString())
    print(f"held-out accuracy {accuracy:.3f}; wrote {MODEL_DIR}")


if __name__ == "__main__":
    main()
