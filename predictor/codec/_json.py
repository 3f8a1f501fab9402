"""JSON by the envelope's rules: request bodies, single instances and rows validated into input
instances (limits, strict types, finite numbers), predictions encoded with the finite check."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, Json, TypeAdapter, ValidationError, create_model
from pydantic_core import ErrorDetails, from_json

from predictor.contract import ContractError
from predictor.finite import encoded_check, fields_to_walk, non_finite, refusing_inf_nan
from predictor.limits import MAX_BODY_BYTES_ENV, SAGEMAKER_MAX_PAYLOAD_ENV, Limits
from predictor.problems import ProblemError, field_errors, problem

ENVELOPE_HINT = 'send a JSON object {"instances": [ ... ]}'
MAX_BODY_SETTINGS = f"{MAX_BODY_BYTES_ENV}, or {SAGEMAKER_MAX_PAYLOAD_ENV} in a SageMaker container"
# Every error body stays small whatever the input: list this many field errors, count the rest.
MAX_LISTED_ERRORS = 100
# The shortest envelope, `{"instances":[]}`; each instance adds at least a value and a comma.
_EMPTY_ENVELOPE_BYTES = 16
NON_FINITE = "Input should be a finite number; JSON has no Infinity or NaN"


class JsonInstances:
    """Validation of input instances and encoding of predictions, for one pair of models."""

    def __init__(
        self,
        input_model: type[BaseModel],
        output_model: type[BaseModel],
        limits: Limits,
        *,
        allow_inf_nan: bool = False,
    ) -> None:
        self.input_model = input_model
        self.output_model = output_model
        self.limits = limits
        # Per-request comparisons read these rather than the limits' attributes.
        self._max_body_bytes = limits.max_body_bytes
        self._max_instances = limits.max_instances
        self._may_hold_too_many = 2 * limits.max_instances + _EMPTY_ENVELOPE_BYTES
        # What the published schema says is what validation accepts: strict JSON types (no
        # `true` or "1.5" for a number, though an integer still is one), finite numbers.
        validated = input_model if allow_inf_nan else refusing_inf_nan(input_model)
        self._instance_validator: type[BaseModel] = validated
        self._request_validator: type[BaseModel] = create_model(
            f"{input_model.__name__}Request",
            instances=(list[validated], Field(min_length=1)),  # type: ignore[valid-type]
        )
        # The hot path calls pydantic-core directly: the Python wrappers around it cost more
        # than validating a small request.
        self._validate_request = self._request_validator.__pydantic_validator__.validate_json
        self._walked_fields = [] if allow_inf_nan else fields_to_walk(input_model)
        self._predictions = TypeAdapter(list[output_model])  # type: ignore[valid-type]
        # The whole response envelope in one serializer call: no copy to wrap the list.
        envelope = TypeAdapter(dict[Literal["predictions"], list[output_model]])  # type: ignore[valid-type]
        self._encode_envelope = envelope.serializer.to_json
        self._may_hide_non_finite = encoded_check(output_model)
        self._instance_texts = TypeAdapter(list[Json[validated]])  # type: ignore[valid-type]
        self.allow_inf_nan = allow_inf_nan
        # Set by `Codec.read_references`: an envelope naming its instances by `instances_uri`.
        self.read_reference: Callable[[object], bytes] | None = None
        self.referenced: JsonInstances | None = None

    def check_size(self, body_bytes: int, *, at_least: bool = False) -> None:
        """413 past the body limit; `at_least` while a streamed body is still arriving."""
        if body_bytes > self.limits.max_body_bytes:
            measured = f"at least {body_bytes}" if at_least else str(body_bytes)
            raise ProblemError(
                problem(
                    413,
                    f"The body is {measured} bytes, over the limit of {self.limits.max_body_bytes} bytes "
                    f"({MAX_BODY_SETTINGS}); split the instances across requests",
                )
            )

    def parse_json(self, body: bytes | str) -> list[Any]:
        """Validate a JSON request body into input instances, or raise a 400/413/422 problem."""
        if len(body) > self._max_body_bytes:
            self.check_size(len(body))
        return self._validate_json(body)

    def parse_object(self, envelope: object) -> list[Any]:
        """Validate a decoded envelope (direct invoke, events) the same way, as the JSON it came as."""
        try:
            body = json.dumps(envelope)
        except (TypeError, ValueError, RecursionError) as exc:
            detail = f"The request is not JSON data ({exc}); {ENVELOPE_HINT}"
            raise ProblemError(problem(400, detail)) from None
        return self._validate_json(body)

    def parse_rows(self, rows: list[Any]) -> list[Any]:
        """Validate instances decoded from CSV cells or an npy array: values convert as the field
        types allow (a cell is text, an array holds floats), and numbers must still be finite."""
        self.check_count(len(rows))
        try:
            envelope = self._request_validator.model_validate({"instances": rows})
        except ValidationError as exc:
            raise _as_problem(exc) from None
        instances: list[Any] = envelope.instances  # type: ignore[attr-defined]
        if self._walked_fields:
            self._refuse_nested_non_finite(instances)
        return instances

    def _validate_json(self, body: bytes | str) -> list[Any]:
        if len(body) > self._may_hold_too_many:
            # Long enough to hold too many instances: count them before validating any.
            self._count_before_validating(body)
        try:
            envelope = self._validate_request(body, strict=True)
        except ValidationError as exc:
            # Only a body without `instances` gets here, so the common case pays nothing for it.
            referenced = self._referenced_instances(body) if self.read_reference is not None else None
            if referenced is not None:
                return referenced
            raise _as_problem(exc) from None
        instances: list[Any] = envelope.instances
        if len(instances) > self._max_instances:
            self.check_count(len(instances))
        if self._walked_fields:
            self._refuse_nested_non_finite(instances)
        return instances

    def _referenced_instances(self, body: bytes | str) -> list[Any] | None:
        """The instances of the envelope `{"instances_uri": ...}` names, validated by the referenced
        limits; None when the body is not such an envelope."""
        try:
            envelope = from_json(body)
        except ValueError:
            return None
        if not isinstance(envelope, dict) or "instances_uri" not in envelope or "instances" in envelope:
            return None
        assert self.read_reference is not None and self.referenced is not None
        uri = envelope["instances_uri"]
        data = self.read_reference(uri)
        try:
            return self.referenced.parse_json(data)
        except ProblemError as exc:
            named = exc.problem.model_copy(update={"detail": f"In {uri}: {exc.problem.detail}"})
            named.instances_uri = uri  # type: ignore[attr-defined]  # problems allow extra members
            raise ProblemError(named) from None

    def _count_before_validating(self, body: bytes | str) -> None:
        try:
            envelope = from_json(body)
        except ValueError:
            return  # validation reports what is wrong with it
        if isinstance(envelope, dict) and isinstance(envelope.get("instances"), list):
            self.check_count(len(envelope["instances"]))

    def _refuse_nested_non_finite(self, instances: list[Any], first: int = 0) -> None:
        errors: list[ErrorDetails] = [
            {
                "type": "finite_number",
                "loc": ("instances", first + index, name, *at),
                "msg": NON_FINITE,
                "input": None,
            }
            for index, instance in enumerate(instances)
            for name in self._walked_fields
            for at in non_finite(getattr(instance, name))
        ]
        if errors:
            raise _validation_problem(errors)

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
        encoded: bytes = self._encode_envelope({"predictions": predictions})
        if self._may_hide_non_finite(encoded):
            refuse_non_finite_output(predictions)
        return encoded

    def dump(self, predictions: list[Any]) -> dict[str, Any]:
        refuse_non_finite_output(predictions)
        return {"predictions": self._predictions.dump_python(predictions, mode="json")}

    # Single instances, for event paths that validate record by record (S3 files, SQS).
    # A problem locates its errors as the envelope's would: ["instances", index, field].

    def parse_instance_json(self, data: bytes | str, index: int) -> Any:
        """Validate one JSON-encoded instance by the envelope's rules, or raise a 400 or 422 problem."""
        try:
            instance = self._instance_validator.model_validate_json(data, strict=True)
        except ValidationError as exc:
            raise _instance_problem(exc, index) from None
        if self._walked_fields:
            self._refuse_nested_non_finite([instance], first=index)
        return instance

    def parse_instance(self, value: object, index: int, *, from_text: bool = False) -> Any:
        """Validate one decoded instance, or raise a 422 problem.

        Decoded JSON is validated as the JSON it came as; `from_text` values (CSV cells) are
        strings, so they are converted as the field types allow, still refusing non-finite numbers.
        """
        if not from_text:
            try:
                data = json.dumps(value)
            except (TypeError, ValueError, RecursionError) as exc:
                raise ProblemError(problem(400, f"Record {index} is not JSON data ({exc})")) from None
            return self.parse_instance_json(data, index)
        try:
            instance = self._instance_validator.model_validate(value)
        except ValidationError as exc:
            raise _instance_problem(exc, index) from None
        if self._walked_fields:
            self._refuse_nested_non_finite([instance], first=index)
        return instance

    def parse_instances_json(self, texts: Sequence[bytes | str]) -> list[Any] | None:
        """Validate many JSON-encoded instances in one call, each on its own (no text is joined to
        another); None if any one fails, and then `parse_instance_json` one by one says which and
        why. The fast branch of the codec's `decode_records`: it accepts exactly what
        `parse_instance_json` accepts, as tests/aws_lambda/test_event_batch_validation.py holds it
        to."""
        try:
            instances: list[Any] = self._instance_texts.validate_python(texts, strict=True)
            if self._walked_fields:
                self._refuse_nested_non_finite(instances)
        except (ValidationError, ProblemError):
            return None
        return instances

    def encode_predictions(self, predictions: list[Any]) -> list[bytes]:
        """Each prediction as JSON, encoded as in a response envelope; a non-finite number raises
        ContractError, as on HTTP, instead of becoming a silent null."""
        to_json = self.output_model.__pydantic_serializer__.to_json
        texts = [to_json(prediction) for prediction in predictions]
        # One search over them all: the joined texts hold a marker exactly when one of them does.
        if self._may_hide_non_finite(b"\n".join(texts)):
            refuse_non_finite_output(predictions)
        return texts


def refuse_non_finite_output(predictions: list[Any]) -> None:
    """A predictor returning inf or nan breaks its contract: the response could not say it in JSON."""
    for location in non_finite(predictions):
        index, *field = location  # predictions are models (checked before), so a field is named
        raise ContractError(
            f"prediction {index} holds a non-finite number at {'.'.join(map(str, field))}; "
            "JSON has no Infinity or NaN, "
            "so return finite numbers (or None where the output model allows it)"
        )


def _as_problem(exc: ValidationError) -> ProblemError:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    invalid_json = [error for error in errors if error["type"] == "json_invalid"]
    if invalid_json:
        return ProblemError(
            problem(400, f"The body is not valid JSON ({invalid_json[0]['msg']}); {ENVELOPE_HINT}")
        )
    return _validation_problem(errors)


def _validation_problem(errors: list[ErrorDetails]) -> ProblemError:
    count = len(errors)
    detail = f"{count} field failed validation" if count == 1 else f"{count} fields failed validation"
    if count > MAX_LISTED_ERRORS:
        detail += f"; the first {MAX_LISTED_ERRORS} are listed"
    listed = field_errors(errors[:MAX_LISTED_ERRORS])
    return ProblemError(problem(422, detail, errors=listed))


def _instance_problem(exc: ValidationError, index: int) -> ProblemError:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    invalid_json = [error for error in errors if error["type"] == "json_invalid"]
    if invalid_json:
        return ProblemError(
            problem(400, f"Record {index} is not valid JSON ({invalid_json[0]['msg']}); write one object")
        )
    for error in errors:
        error["loc"] = ("instances", index, *error["loc"])
    return _validation_problem(errors)
