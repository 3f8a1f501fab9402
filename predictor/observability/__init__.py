"""Logs, metrics and traces of every request, on every transport (see docs/observability.md).

The transports call three things: `observer_for` once per runtime, `Observer.begin` and
`Observer.finish` around each request or record batch (the Lambda handler, the server's
`ObservedRequests`), and `CURRENT` where a count is known (the runtime's run and problems).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from predictor.observability._observation import CURRENT, Observation
from predictor.observability._observer import Observer
from predictor.observability._settings import ObservabilitySettings

__all__ = [
    "CURRENT",
    "ObservabilitySettings",
    "Observation",
    "Observer",
    "count_file",
    "count_records",
    "count_request",
    "observer_for",
    "traced",
]
_NO_SPAN: AbstractContextManager[Any] = contextlib.nullcontext()


def count_request(instances: int, context: Any) -> None:
    """A server route's request: its instances, and what its predictor recorded (predict ran on the
    batcher's thread, where the request's observation is not current)."""
    observation = CURRENT.get()
    if observation is not None:
        observation.instances += instances
        if context is not None and (context.metrics or context.tags):
            observation.contexts.append(context)


def count_records(predicted: int = 0, invalid: int = 0, failed: int = 0) -> None:
    """An SQS batch's messages by outcome."""
    observation = CURRENT.get()
    if observation is not None:
        observation.records(predicted, invalid, failed)


def count_file(predicted: int, invalid: int, *, failed: bool = False) -> None:
    """One S3 file's records by outcome, or its failure (retried as a whole)."""
    observation = CURRENT.get()
    if observation is not None:
        observation.records(predicted, invalid)
        observation.failed_files += failed


def traced(observer: Observer | None, name: str) -> AbstractContextManager[Any]:
    """A trace subsegment named `name` when tracing is on; otherwise nothing."""
    return _NO_SPAN if observer is None else observer.span(name)


def observer_for(predictor_class: Any, environ: Mapping[str, str]) -> Observer | None:
    settings = ObservabilitySettings.from_environ(environ)
    if not settings.enabled:
        return None
    return Observer(settings, predictor_class.name, str(predictor_class.version), environ)
