"""The floor: the fastest honest hand-written handler for the same answer, nothing between event and model.

It parses with the same pydantic model, runs the same session, and encodes with
orjson, which was the fastest encoder at hand that writes exactly the bytes the
project writes (json.dumps was 8-20x slower here and adds spaces; pydantic's
TypeAdapter.dump_json writes the same bytes 3x slower). http_overhead.py checks the
bodies are byte-identical before timing anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from benchmarks.peers.iris_model import IrisModel, IrisRequest


def build(model_dir: Path) -> Any:
    model = IrisModel(model_dir)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request = IrisRequest.model_validate_json(event["body"])
        body = orjson.dumps({"predictions": model.predict(request.instances)}).decode()
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": body,
            "isBase64Encoded": False,
        }

    return handler
