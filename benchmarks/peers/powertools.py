"""Powertools' `APIGatewayHttpResolver` with one route, parsing with the same pydantic model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from benchmarks.peers.iris_model import IrisModel, IrisRequest


def build(model_dir: Path) -> Any:
    model = IrisModel(model_dir)
    app = APIGatewayHttpResolver()

    @app.post("/predict")
    def predict() -> dict[str, Any]:
        request = IrisRequest.model_validate_json(app.current_event.body or "")
        return {"predictions": model.predict(request.instances)}

    return app.resolve
