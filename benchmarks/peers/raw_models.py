"""The floor with the example's own `predict`: hand-written around functions/iris, nothing else.

It parses into the example's input model and calls its `predict`, which returns
pydantic `Prediction` objects as the predictor contract asks, then encodes them with
a pydantic TypeAdapter. Against `raw.py` it shows what the contract's models cost;
against predictor, what the adapter adds on top of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter, create_model


def build(function_dir: Path) -> Any:
    from predictor._loading import load_predictor_class

    predictor_class = load_predictor_class(str(function_dir))
    model = predictor_class()
    model.setup(function_dir / "model")
    request_model: type[BaseModel] = create_model(
        "Request",
        instances=(list[predictor_class.input_model], Field(min_length=1)),  # type: ignore[name-defined]
    )
    predictions = TypeAdapter(list[predictor_class.output_model])  # type: ignore[name-defined]

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request: Any = request_model.model_validate_json(event["body"])
        body = b'{"predictions":' + predictions.dump_json(model.predict(request.instances)) + b"}"
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": body.decode(),
            "isBase64Encoded": False,
        }

    return handler
