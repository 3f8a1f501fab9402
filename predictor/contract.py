"""The predictor contract: one input model, one output model, batch-first predict."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


class ContractError(TypeError):
    """A predictor class or its output breaks the predictor contract."""


class PredictorError(Exception):
    """Raised by a predictor to refuse a request with an HTTP status and a message.

    The message reaches the caller as the problem's `detail`, so write it for them.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"PredictorError status must be 4xx or 5xx, got {status}")
        super().__init__(message)
        self.message = message
        self.status = status


class TrainingStopped(BaseException):
    """Raised inside `train` when the job is stopped (SIGTERM; SageMaker kills it 120 s later).

    A BaseException, like KeyboardInterrupt, so `except Exception` does not swallow it: catch it
    to save what the training has, then return (the job ends as trained) or re-raise.
    """


class Predictor(Generic[In, Out]):
    """Subclass as `Predictor[Features, Prediction]` and implement `predict`.

    `setup` runs once per cold start with the local artifacts directory; `predict`
    takes a list of validated instances and returns one prediction per instance.

    `predict` is never called concurrently on one instance, on any transport: Lambda
    runs one event at a time, and `predictor serve` sends /predict and /invocations
    alike through one batcher that runs one predict at a time on its own thread. It
    need not be thread-safe (it may run on a thread other than the one `setup` ran on).
    """

    input_model: ClassVar[type[BaseModel]]
    output_model: ClassVar[type[BaseModel]]
    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    #: Artifacts used when MODEL_URI is unset, relative to the module defining the class.
    default_artifacts: ClassVar[str] = "model"
    #: Media types handed to `decode_raw` instead of being parsed as the JSON envelope.
    raw_content_types: ClassVar[tuple[str, ...]] = ()
    #: Accept Infinity, NaN and out-of-range numbers (1e400) in float input fields. They are
    #: refused by default: JSON has no such values. Predictions must be finite either way.
    allow_inf_nan: ClassVar[bool] = False
    #: The hyperparameters `train` takes, as a pydantic model; None: a dict of the decoded values.
    Hyperparameters: ClassVar[type[BaseModel] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if typing.get_origin(base) is Predictor:
                input_model, output_model = typing.get_args(base)
                if isinstance(input_model, type) and issubclass(input_model, BaseModel):
                    cls.input_model = input_model
                if isinstance(output_model, type) and issubclass(output_model, BaseModel):
                    cls.output_model = output_model
        if not cls.name:
            cls.name = cls.__name__

    def setup(self, artifacts: Path) -> None:
        """Load the model from the local artifacts directory, once per cold start."""

    def preprocess(self, batch: list[In]) -> list[In]:
        """Transform the validated instances before `predict`; returns them unchanged by default."""
        return batch

    def predict(self, batch: list[In]) -> list[Out]:
        """Return one prediction per instance, in order. Name a `context` parameter to receive
        the request's `RequestContext`."""
        raise NotImplementedError

    def postprocess(self, predictions: list[Out]) -> list[Out]:
        """Transform the predictions after `predict`; returns them unchanged by default."""
        return predictions

    def health(self) -> bool:
        """Return False (or raise) to report not ready after a successful setup."""
        return True

    def decode_raw(self, body: bytes, content_type: str) -> list[In]:
        """Turn a non-JSON body (listed in `raw_content_types`) into instances."""
        raise PredictorError(f"{type(self).__name__} does not decode {content_type} bodies", 415)

    def metadata(self) -> dict[str, Any]:
        """What `GET /metadata` answers: the name, version and input and output JSON schemas."""
        return {
            "name": self.name,
            "version": self.version,
            "inputs": self.input_model.model_json_schema(),
            "outputs": self.output_model.model_json_schema(),
        }

    def teardown(self) -> None:
        """Release what `setup` acquired; called when a local server stops or a model is unloaded."""

    @classmethod
    def train(cls, channels: dict[str, Path], hyperparameters: Any, model_dir: Path) -> None:
        """Optional: train from the input `channels` (name -> local directory) and write into
        `model_dir` exactly what `setup` reads. `hyperparameters` is an instance of
        `cls.Hyperparameters` when declared, else a dict of the decoded values.
        Run by `predictor train` and by `docker run IMAGE train`."""
        raise NotImplementedError


def check_contract(cls: type[Predictor[Any, Any]]) -> None:
    """Refuse a predictor class that cannot serve, naming what to fix."""
    name = cls.__qualname__
    for attribute, role in (("input_model", "input"), ("output_model", "output")):
        model = getattr(cls, attribute, None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ContractError(
                f"{name} has no {role} schema: declare it as "
                f"`class {cls.__name__}(Predictor[InputModel, OutputModel])` "
                "with two pydantic BaseModel classes"
            )
    if cls.predict is Predictor.predict:
        raise ContractError(f"{name} does not implement predict(self, batch) -> list[Output]")
    if inspect.iscoroutinefunction(cls.predict):
        raise ContractError(f"{name}.predict must be a plain def, not async def")


def check_trainable(cls: type[Predictor[Any, Any]]) -> None:
    """Refuse a predictor class that cannot train, naming what to add."""
    name = cls.__qualname__
    if getattr(cls.train, "__func__", None) is Predictor.train.__func__:  # type: ignore[attr-defined]
        raise ContractError(
            f"{name} cannot train: define `@classmethod def train(cls, channels, hyperparameters, "
            "model_dir)` writing what setup reads into model_dir"
        )
    if inspect.iscoroutinefunction(cls.train):
        raise ContractError(f"{name}.train must be a plain def, not async def")
    model = cls.Hyperparameters
    if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ContractError(f"{name}.Hyperparameters must be a pydantic BaseModel class, or None")


def takes_context(cls: type[Predictor[Any, Any]]) -> bool:
    """Whether `predict` asks for the request context: `def predict(self, batch, context)`."""
    return "context" in inspect.signature(cls.predict).parameters


def check_predictions(
    cls: type[Predictor[Any, Any]], batch_size: int, predictions: object
) -> list[BaseModel]:
    """Verify what predict returned: a list of output models, one per instance."""
    if (
        isinstance(predictions, list)
        and len(predictions) == batch_size
        and {*map(type, predictions)} == {cls.output_model}
    ):
        return predictions  # the usual case, checked in one pass without a Python loop
    name = cls.__qualname__
    if not isinstance(predictions, list):
        raise ContractError(
            f"{name}.predict returned {type(predictions).__name__}; "
            f"it must return a list of {cls.output_model.__name__}"
        )
    if len(predictions) != batch_size:
        raise ContractError(
            f"{name}.predict returned {len(predictions)} predictions for "
            f"{batch_size} instances; return exactly one per instance, in order"
        )
    output_model = cls.output_model
    for position, item in enumerate(predictions):
        if type(item) is not output_model and not isinstance(item, output_model):
            raise ContractError(
                f"{name}.predict returned {type(item).__name__} at position {position}; "
                f"expected {output_model.__name__}"
            )
    return predictions
