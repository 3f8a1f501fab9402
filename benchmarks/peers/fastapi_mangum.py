"""FastAPI behind Mangum: the tutorials' version, and the tuned one (`async def`, lifespan off)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from mangum import Mangum

from benchmarks.peers.iris_model import IrisModel, IrisRequest


def build_naive(model_dir: Path) -> Any:
    """A sync endpoint (run on the thread pool) and Mangum's default lifespan="auto"."""
    model = IrisModel(model_dir)
    app = FastAPI()

    # No return annotation, as in the tutorials; FastAPI would build a response model from one.
    @app.post("/predict")
    def predict(request: IrisRequest):  # type: ignore[no-untyped-def]
        return {"predictions": model.predict(request.instances)}

    return Mangum(app)


def build_tuned(model_dir: Path) -> Any:
    model = IrisModel(model_dir)
    app = FastAPI()

    @app.post("/predict")
    async def predict(request: IrisRequest):  # type: ignore[no-untyped-def]
        return {"predictions": model.predict(request.instances)}

    return Mangum(app, lifespan="off")
