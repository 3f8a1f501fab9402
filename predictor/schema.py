"""The published envelopes: the request and response models a predictor's input and output make.

What /docs and /openapi.json show; validating and encoding bodies is the codec's (`predictor.codec`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, create_model


class Schema:
    """Request and response envelopes built from a predictor's input and output models."""

    def __init__(self, input_model: type[BaseModel], output_model: type[BaseModel]) -> None:
        self.input_model = input_model
        self.output_model = output_model
        self.request_model: type[BaseModel] = create_model(
            f"{input_model.__name__}Request",
            instances=(
                list[input_model],  # type: ignore[valid-type]
                Field(min_length=1, description="Instances to predict, in order"),
            ),
        )
        self.response_model: type[BaseModel] = create_model(
            f"{output_model.__name__}Response",
            predictions=(
                list[output_model],  # type: ignore[valid-type]
                Field(description="One prediction per instance, in request order"),
            ),
        )

    def example_request(self) -> dict[str, Any] | None:
        examples = self.input_model.model_json_schema().get("examples")
        return {"instances": examples[:1]} if examples else None
