"""The shared envelopes: every transport validates and encodes through `Schema`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, Json, TypeAdapter, ValidationError, create_model

from predictor.limits import Limits
from predictor.problems import ProblemError, field_errors, problem

ENVELOPE_HINT = 'send a JSON object {"instances": [ ... ]}'


class Schema:
    """Request and response envelopes built from a predictor's input and output models."""

    def __init__(self, input_model: type[BaseModel], output_model: type[BaseModel], limits: Limits) -> None:
        self.input_model = input_model
        self.output_model = output_model
        self.limits = limits
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
        self._instances = TypeAdapter(list[input_model])  # type: ignore[valid-type]
        self._predictions = TypeAdapter(list[output_model])  # type: ignore[valid-type]
        self._instance_texts = TypeAdapter(list[Json[input_model]])  # type: ignore[valid-type]

    def check_size(self, body_bytes: int) -> None:
        if body_bytes > self.limits.max_body_bytes:
            raise ProblemError(
                problem(
                    413,
                    f"The body is {body_bytes} bytes, over the limit of "
                    f"{self.limits.max_body_bytes}; split the instances across requests",
                )
            )

    def parse_json(self, body: bytes | str) -> list[Any]:
        """Validate a JSON request body into input instances, or raise a 400/413/422 problem."""
        self.check_size(len(body))
        try:
            envelope = self.request_model.model_validate_json(body)
        except ValidationError as exc:
            raise _as_problem(exc) from None
        instances: list[Any] = envelope.instances  # type: ignore[attr-defined]
        self.check_count(len(instances))
        return instances

    def parse_object(self, envelope: object) -> list[Any]:
        """Validate an already-decoded envelope (direct invoke, events) the same way."""
        try:
            parsed = self.request_model.model_validate(envelope)
        except ValidationError as exc:
            raise _as_problem(exc) from None
        instances: list[Any] = parsed.instances  # type: ignore[attr-defined]
        self.check_count(len(instances))
        return instances

    def check_count(self, count: int) -> None:
        if count > self.limits.max_instances:
            raise ProblemError(
                problem(
                    413,
                    f"The request has {count} instances, over the limit of "
                    f"{self.limits.max_instances}; split them across requests",
                )
            )

    def encode(self, predictions: list[Any]) -> bytes:
        return b'{"predictions":' + self._predictions.dump_json(predictions) + b"}"

    def dump(self, predictions: list[Any]) -> dict[str, Any]:
        return {"predictions": self._predictions.dump_python(predictions, mode="json")}

    def example_request(self) -> dict[str, Any] | None:
        examples = self.input_model.model_json_schema().get("examples")
        return {"instances": examples[:1]} if examples else None

    # Single instances, for event paths that validate record by record (S3 files, SQS).
    # A problem locates its errors as the envelope's would: ["instances", index, field].

    def parse_instance_json(self, data: bytes | str, index: int) -> Any:
        """Validate one JSON-encoded instance, or raise a 400 (not JSON) or 422 problem."""
        try:
            return self.input_model.model_validate_json(data)
        except ValidationError as exc:
            raise _instance_problem(exc, index) from None

    def parse_instance(self, value: object, index: int) -> Any:
        """Validate one already-decoded instance, or raise a 422 problem."""
        try:
            return self.input_model.model_validate(value)
        except ValidationError as exc:
            raise _instance_problem(exc, index) from None

    def parse_instances_json(self, texts: list[bytes] | list[str]) -> list[Any] | None:
        """Validate many JSON-encoded instances in one call, each on its own (no text is joined to
        another); None if any one fails, and then `parse_instance_json` one by one says which and
        why. Accepts exactly what `parse_instance_json` accepts: keep the two in step."""
        try:
            instances: list[Any] = self._instance_texts.validate_python(texts)
        except ValidationError:
            return None
        return instances

    def encode_predictions(self, predictions: list[Any]) -> list[bytes]:
        """Each prediction as `encode_prediction` writes it, for a whole chunk at once."""
        to_json = self.output_model.__pydantic_serializer__.to_json
        return [to_json(prediction) for prediction in predictions]

    def encode_prediction(self, prediction: Any) -> bytes:
        """One prediction as JSON, encoded as in a response envelope."""
        serializer = self.output_model.__pydantic_serializer__
        return serializer.to_json(prediction)


def _as_problem(exc: ValidationError) -> ProblemError:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    invalid_json = [error for error in errors if error["type"] == "json_invalid"]
    if invalid_json:
        return ProblemError(
            problem(400, f"The body is not valid JSON ({invalid_json[0]['msg']}); {ENVELOPE_HINT}")
        )
    count = len(errors)
    noun = "field" if count == 1 else "fields"
    return ProblemError(problem(422, f"{count} {noun} failed validation", errors=field_errors(errors)))


def _instance_problem(exc: ValidationError, index: int) -> ProblemError:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    invalid_json = [error for error in errors if error["type"] == "json_invalid"]
    if invalid_json:
        return ProblemError(
            problem(400, f"Record {index} is not valid JSON ({invalid_json[0]['msg']}); write one object")
        )
    for error in errors:
        error["loc"] = ("instances", index, *error["loc"])
    count = len(errors)
    noun = "field" if count == 1 else "fields"
    return ProblemError(problem(422, f"{count} {noun} failed validation", errors=field_errors(errors)))
