"""The baseline: a hand-written handler with nothing between the event and the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.peers.iris_model import IrisModel, IrisRequest


def build(model_dir: Path) -> Any:
    model = IrisModel(model_dir)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request = IrisRequest.model_validate_json(event["body"])
        body = json.dumps({"predictions": model.predict(request.instances)})
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": body,
            "isBase64Encoded": False,
        }

    return handler
