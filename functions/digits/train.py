"""Train the digits classifier (an MLP on scikit-learn's bundled 8x8 digits) and export it to ONNX.

Run from the repository root: `python functions/digits/train.py` (a few minutes on two cores).
The output, functions/digits/model/model.onnx (about 17 MB), is committed so the example
works offline.

The network is far larger than 8x8 digits need, on purpose: it is the example of a model
heavy enough for dynamic batching to matter. Three hidden layers of 2048 units are 8.5M
weights: one instance alone streams all of them from memory (milliseconds of a core),
while a batch shares each weight across its rows (a fraction of a millisecond per
instance). The weights are stored as float16 to halve the file; a Cast node turns them
back into float32, which ONNX Runtime folds once when the session opens, so inference
runs in float32 with the rounded weights (the held-out accuracy printed is theirs).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

MODEL_DIR = Path(__file__).parent / "model"
HIDDEN = (2048, 2048, 2048)
# Training accuracy reaches 100% well within this; more epochs only polish the loss.
EPOCHS = 30
# Weight matrices at least this large are stored as float16; biases stay float32.
HALF_STORED_AT = 4096


def main() -> None:
    digits = load_digits()
    x = digits.data.astype(np.float32) / 16.0
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.2, random_state=0, stratify=digits.target
    )
    model = MLPClassifier(hidden_layer_sizes=HIDDEN, max_iter=EPOCHS, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    onnx_model = to_onnx(model, x_train[:1], options={id(model): {"zipmap": False}}, target_opset=17)
    half_stored(onnx_model.graph)
    onnx.checker.check_model(onnx_model)
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    path = MODEL_DIR / "model.onnx"
    path.write_bytes(onnx_model.SerializeToString())
    print(
        f"held-out accuracy {float(model.score(x_test, y_test)):.3f} (float32), "
        f"{onnx_accuracy(path, x_test, y_test):.3f} (the ONNX file); "
        f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)"
    )


def half_stored(graph: onnx.GraphProto) -> None:
    """Store each large float32 initializer as float16 behind a Cast back to float32."""
    casts = []
    for initializer in graph.initializer:
        if initializer.data_type != TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(initializer)
        if values.size < HALF_STORED_AT:
            continue
        name = initializer.name
        initializer.CopyFrom(numpy_helper.from_array(values.astype(np.float16), f"{name}_half"))
        casts.append(helper.make_node("Cast", [f"{name}_half"], [name], to=TensorProto.FLOAT))
    nodes = [*casts, *graph.node]
    del graph.node[:]
    graph.node.extend(nodes)


def onnx_accuracy(path: Path, x_test: np.ndarray, y_test: np.ndarray) -> float:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    labels = session.run(None, {"X": x_test})[0]
    return float(np.mean(labels == y_test))


if __name__ == "__main__":
    main()
