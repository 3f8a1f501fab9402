"""Vectorised prediction for event paths: valid instances reach `predict` in chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from predictor._log import logger
from predictor.context import RequestContext
from predictor.contract import PredictorError
from predictor.problems import Problem
from predictor.runtime import Runtime

# A refusal with one of these statuses is worth retrying; any other is the answer.
RETRYABLE_STATUSES = frozenset({408, 429})


class ChunkFailed(Exception):
    """`predict` raised on a chunk; its records are reported for retry, not answered."""


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rebatch(lists: Iterable[list[Any]], size: int) -> Iterator[list[Any]]:
    """The items of `lists`, in order, in lists of exactly `size` (the last may be shorter)."""
    pending: list[Any] = []
    for items in lists:
        pending += items
        if len(pending) >= size:
            cut = len(pending) - len(pending) % size
            for start in range(0, cut, size):
                yield pending[start : start + size]
            del pending[:cut]
    if pending:
        yield pending


def run_chunk(
    runtime: Runtime, instances: list[Any], request_id: str, *, span: bool = True
) -> list[Any] | Problem:
    """Predictions for a chunk, the problem that answers every instance in it (a final refusal by
    the predictor), or ChunkFailed for anything worth retrying. `span=False` when the caller
    traces all its chunks as one span."""
    try:
        # A predict that takes a context gets one: its metrics and tags count on events too.
        context = RequestContext(request_id) if runtime.wants_context else None
        return runtime.run(instances, context, span=span)
    except PredictorError as exc:
        if exc.status < 500 and exc.status not in RETRYABLE_STATUSES:
            return runtime.problem_for(exc, request_id)
        logger().warning("predictor refused a chunk; it will be retried", extra={"status": exc.status})
        raise ChunkFailed(f"the predictor refused with {exc.status}: {exc.message}") from exc
    except Exception as exc:
        logger().exception("predict failed on a chunk", extra={"request_id": request_id})
        raise ChunkFailed(f"predict raised {type(exc).__name__}") from exc
