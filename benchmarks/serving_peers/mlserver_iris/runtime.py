"""MLServer custom runtime for the iris ONNX model: V2 tensors in, label and probabilities out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse

MODEL_DIR = Path(__file__).resolve().parents[3] / "functions" / "iris" / "model"


class IrisRuntime(MLModel):
    async def load(self) -> bool:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(MODEL_DIR / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        rows = NumpyCodec.decode_input(payload.inputs[0]).astype(np.float32)
        labels, probabilities = self.session.run(None, {"X": rows})
        return InferenceResponse(
            model_name=self.name,
            outputs=[
                NumpyCodec.encode_output("label", labels),
                NumpyCodec.encode_output("probabilities", probabilities),
            ],
        )
