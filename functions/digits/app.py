"""A handwritten-digit classifier (MLP, ONNX) that accepts JSON, npy rows and PNG images.

JSON and `application/x-npy` carry 64 pixel values per instance (8x8, row by row, 0 blank
to 16 full ink, as in scikit-learn's digits); a PNG body is one image of any size, read
through `decode_raw`: grey-scaled, shrunk to 8x8 and inverted so dark ink counts high.
"""

from __future__ import annotations

# First: with MODEL_URI=s3://..., importing predictor starts the download.
from predictor import Predictor, PredictorError, lambda_handler  # isort: split

import io
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, Field

from predictor.onnx_session import open_session

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


handler = lambda_handler(Digits)
