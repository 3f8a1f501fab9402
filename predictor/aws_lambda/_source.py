"""What every Lambda event source module provides: recognise its events and answer them."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from predictor.aws_lambda._settings import EventSettings
from predictor.runtime import Runtime


class EventSource(Protocol):
    """One kind of Lambda event. `infer` must be cheap: it runs for every event until one claims it.
    Made once per handler, with the handler's settings."""

    def __init__(self, runtime: Runtime, settings: EventSettings) -> None: ...

    @staticmethod
    def infer(event: dict[str, Any]) -> bool: ...

    def __call__(self, event: dict[str, Any], context: Any) -> Any: ...


class UnrecognisedEvent(TypeError):
    """No event source claimed the event; raised so Lambda counts and retries it, never acknowledges it."""


class MalformedEvent(TypeError):
    """An event lacking, or mistyping, a field its AWS service always sends, named in the message.

    HTTP events still get an HTTP answer (a 400); any other source raises it, so the event is
    retried rather than acknowledged with nothing done."""


def request_id(context: Any) -> str:
    return getattr(context, "aws_request_id", None) or uuid.uuid4().hex


def remaining_seconds(context: Any) -> float | None:
    """The invocation's remaining time, or None when the context does not say (a bare local call)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return None if remaining is None else float(remaining()) / 1000
