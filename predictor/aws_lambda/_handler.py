"""The one Lambda entry point: dispatch each event to the first source that claims it."""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from predictor._aws_clients import client
from predictor._environ import on_lambda
from predictor._log import logger
from predictor.aws_lambda._settings import EventSettings, Output, QueueUrl
from predictor.aws_lambda._source import EventSource, UnrecognisedEvent
from predictor.aws_lambda.large_payloads import LargePayloads
from predictor.aws_lambda.sources import SOURCES
from predictor.contract import Predictor
from predictor.limits import Limits
from predictor.observability.lambda_events import observed_call
from predictor.runtime import Runtime, RuntimeSettings, started_runtime


class LambdaHandler:
    """Callable as `handler(event, context)`; the predictor's setup has run at init."""

    def __init__(self, runtime: Runtime, settings: EventSettings) -> None:
        """`settings` as the entry point read them (`for_predictor`, once at init)."""
        self.runtime = runtime
        self.settings = settings
        self.sources: list[EventSource] = [source(runtime, self.settings) for source in SOURCES]
        self.large_payloads = LargePayloads(runtime)

    @classmethod
    def for_predictor(
        cls,
        predictor_class: type[Predictor[Any, Any]],
        *,
        output_uri: str | None = None,
        batch_size: int | None = None,
        artifacts: str | Path | None = None,
        limits: Limits | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> LambdaHandler:
        """The handler, its settings read once: each argument given wins over its environment
        variable (`OUTPUT_URI`, `PREDICTOR_BATCH_SIZE`, `MODEL_URI`, the limits')."""
        from predictor._snapstart import register_snapstart_hooks

        environ = os.environ if environ is None else environ
        runtime_settings = RuntimeSettings.from_environ(environ, artifacts=artifacts, limits=limits)
        runtime = started_runtime(predictor_class, runtime_settings, environ=environ)
        if runtime.failure is not None and on_lambda(environ):
            # Raising from init makes Lambda report Runtime.InitError, count it, and run init
            # again on the next invocation; answering 503 from a live sandbox would hide it.
            raise SetupFailed(f"{predictor_class.__qualname__} is not ready: {runtime.failure}")
        register_snapstart_hooks(runtime)
        settings = EventSettings.from_environ(environ, output_uri=output_uri, batch_size=batch_size)
        handler = cls(runtime, settings)
        prepare_clients(settings.output)
        if on_lambda(environ):
            # What init made (modules, model, clients) lives as long as the sandbox: keep the
            # cyclic collector from walking it again at every collection while invocations
            # allocate (a sixth of a large S3 file's time, measured). Cycles made at init are
            # kept, as they would be anyway.
            gc.freeze()
        return handler

    def __call__(self, event: Any, context: Any = None) -> Any:
        if isinstance(event, dict):
            for source in self.sources:
                if source.infer(event):
                    observer = self.runtime.observer
                    if observer is None:
                        return self.large_payloads.bounded(event, source(event, context), context)
                    # Inside the observation, so a refused or stored answer is logged with its status.
                    return observed_call(observer, source, event, context, self.large_payloads.bounded)
        raise UnrecognisedEvent(describe_unrecognised(event))


def prepare_clients(output: Output | None) -> None:
    """With OUTPUT_URI set the function answers events: import boto3 and make the clients its
    results need now, at init, as AWS advises, instead of in the first invocation's time.
    A failure here is left for that first use to report where it happens."""
    if output is None:
        return
    try:
        client("s3")
        if isinstance(output, QueueUrl):
            client("sqs")
    except Exception as exc:
        logger().warning(
            "could not make the AWS clients at init; the first event will try again",
            extra={"error": f"{type(exc).__name__}: {exc}"},
        )


class SetupFailed(RuntimeError):
    """The predictor's setup failed on Lambda; raised at init so Lambda sees it."""


def describe_unrecognised(event: Any) -> str:
    if isinstance(event, dict):
        received = f"an object with keys {sorted(map(str, event))[:20]}"
    else:
        received = f"a JSON {type(event).__name__}"
    return (
        f"Unrecognised event: received {received}; expected an API Gateway, ALB or Function URL "
        "request, an S3 notification, an SQS batch, an EventBridge event, an S3 Batch Operations "
        'job, or a direct invocation {"instances": [...]}'
    )


def lambda_handler(predictor_class: type[Predictor[Any, Any]], **options: Any) -> LambdaHandler:
    """Build the Lambda entry point for a predictor; its setup runs now, at init.

    In app.py: `handler = lambda_handler(MyPredictor)`, and `Handler: app.handler` in the template.
    Keyword arguments (`output_uri=`, `batch_size=`, `artifacts=`, `limits=`, `environ=`) win
    over the environment variables they stand for.
    """
    return LambdaHandler.for_predictor(predictor_class, **options)
