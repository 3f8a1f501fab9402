"""A handwritten-digit classifier (MLP, ONNX) that accepts JSON, npy rows and PNG images.

JSON and `application/x-npy` carry 64 pixel values per instance (8x8, row by row, 0 blank
to 16 full ink, as in scikit-learn's digits); a PNG body is one image of any size, read
through `decode_raw`: grey-scaled, shrunk to 8x8 and inverted so dark ink counts high.

`predictor train functions/digits --model-dir functions/digits/model` rebuilds the committed
model (an MLP on scikit-learn's bundled digits; a few minutes on two cores). The network is far
larger than 8x8 digits need, on purpose: it is the example of a model heavy enough for dynamic
batching to matter. Three hidden layers of 2048 units are 8.5M weights: one instance alone
streams all of them from memory, while a batch shares each weight across its rows. The weights
are stored as float16 to halve the file; a Cast node turns them back into float32, which ONNX
Runtime folds once when the session opens, so inference runs in float32 with the rounded weights.
"""

from __future__ import annotations

# First: with MODEL_URI=s3://..., importing predictor starts the download.
from predictor import Predictor, PredictorError, lambda_handler  # isort: split

import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
from pydantic import BaseModel, Field

from predictor.onnx_session import open_session

if TYPE_CHECKING:
    import onnx

PNG = "image/png"
# Refuse images whose pixels alone would take more memory than the request should.
MAX_IMAGE_PIXELS = 4096 * 4096
Pixel = Annotated[float, Field(ge=0, le=16)]


class Digit(BaseModel):
    """An 8x8 grey image, row by row: 0 is blank, 16 full ink."""

    pixels: list[Pixel] = Field(min_length=64, max_length=64)


class Prediction(BaseModel):
    digit: int = Field(ge=0, le=9)
    confidence: float


class Digits(Predictor[Digit, Prediction]):
    """Reads handwritten digits 0-9 from 8x8 images."""

    version = "1"
    raw_content_types = (PNG,)

    class Hyperparameters(BaseModel):
        hidden: list[int] = Field(
            default=[2048, 2048, 2048], min_length=1, description="units per hidden layer"
        )
        # Training accuracy reaches 100% well within the default; more epochs only polish the loss.
        epochs: int = Field(default=30, gt=0)
        #: Weight matrices at least this large are stored as float16; biases stay float32.
        half_stored_at: int = Field(default=4096, gt=0)
        random_state: int = 0

    @classmethod
    def train(cls, channels: dict[str, Path], hyperparameters: Hyperparameters, model_dir: Path) -> None:
        import onnx
        from skl2onnx import to_onnx
        from sklearn.datasets import load_digits
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import train_test_split
        from sklearn.neural_network import MLPClassifier

        digits = load_digits()
        x = digits.data.astype(np.float32) / 16.0
        x_train, x_test, y_train, y_test = train_test_split(
            x, digits.target, test_size=0.2, random_state=0, stratify=digits.target
        )
        model = MLPClassifier(
            hidden_layer_sizes=tuple(hyperparameters.hidden),
            max_iter=hyperparameters.epochs,
            random_state=hyperparameters.random_state,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_train, y_train)
        onnx_model = to_onnx(model, x_train[:1], options={id(model): {"zipmap": False}}, target_opset=17)
        _half_stored(onnx_model.graph, hyperparameters.half_stored_at)
        onnx.checker.check_model(onnx_model)
        path = model_dir / "model.onnx"
        path.write_bytes(onnx_model.SerializeToString())
        session = open_session(path)
        accuracy = float(np.mean(session.run(None, {"X": x_test})[0] == y_test))
        print(
            f"held-out accuracy {accuracy:.3f} (the ONNX file); "
            f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)"
        )

    def setup(self, artifacts: Path) -> None:
        self.session = open_session(artifacts / "model.onnx")

    def predict(self, batch: list[Digit]) -> list[Prediction]:
        pixels = np.array([digit.pixels for digit in batch], dtype=np.float32) / 16.0
        labels, probabilities = self.session.run(None, {"X": pixels})
        confidence = probabilities.max(axis=1)
        return [
            Prediction(digit=label, confidence=p)
            for label, p in zip(labels.tolist(), confidence.tolist(), strict=True)
        ]

    def decode_raw(self, body: bytes, content_type: str) -> list[Digit]:
        from PIL import Image, UnidentifiedImageError

        try:
            image = Image.open(io.BytesIO(body), formats=["PNG"])
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise PredictorError(
                    f"The image is {width}x{height}; send one of at most 4096x4096 pixels", 413
                )
            grey = image.convert("L").resize((8, 8), Image.Resampling.BOX)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise PredictorError(f"The body is not a readable PNG image ({exc}); send image/png") from None
        ink = (255 - np.asarray(grey, dtype=np.float32)) * (16 / 255)
        return [Digit(pixels=ink.reshape(64).tolist())]


def _half_stored(graph: onnx.GraphProto, at_least: int) -> None:
    """Store each float32 initializer of `at_least` values as float16 behind a Cast back to float32."""
    from onnx import TensorProto, helper, numpy_helper

    casts = []
    for initializer in graph.initializer:
        if initializer.data_type != TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(initializer)
        if values.size < at_least:
            continue
        name = initializer.name
        initializer.CopyFrom(numpy_helper.from_array(values.astype(np.float16), f"{name}_half"))
        casts.append(helper.make_node("Cast", [f"{name}_half"], [name], to=TensorProto.FLOAT))
    nodes = [*casts, *graph.node]
    del graph.node[:]
    graph.node.extend(nodes)


handler = lambda_handler(Digits)
