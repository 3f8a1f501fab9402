"""One observation per Lambda invocation: named by its source's request id, counted, written at its end."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from predictor.observability._observation import CURRENT
from predictor.observability._observer import Observer
from predictor.observability.request_ids import for_http_event, invocation_id
from predictor.problems import ProblemError

#: Event source class -> the `source` of its log line.
SOURCE_NAMES = {
    "HttpEvent": "http",
    "S3BatchOperations": "s3-batch",
    "S3Notification": "s3",
    "SqsEvent": "sqs",
    "S3EventBridge": "s3-eventbridge",
    "ScheduledEvent": "schedule",
    "CustomEvent": "eventbridge",
    "DirectInvoke": "direct",
}
RECORD_BATCHES = frozenset({"sqs", "s3", "s3-batch", "s3-eventbridge"})


def observed_call(
    observer: Observer,
    source: Any,
    event: dict[str, Any],
    context: Any,
    bounded: Callable[[Any, Any, Any], Any],
) -> Any:
    """`bounded(event, source(event, context), context)`, with its log line and metrics written when
    it returns or raises."""
    name = SOURCE_NAMES.get(type(source).__name__, type(source).__name__)
    function_request_id = invocation_id(context)
    observation = observer.begin(
        name,
        event_request_id(name, event, context) or function_request_id,
        function_request_id,
        one_request=name not in RECORD_BATCHES,
    )
    if observation.sample_payload:
        observation.keep_payload(_payload(name, event))
    token = CURRENT.set(observation)
    try:
        response = bounded(event, source(event, context), context)
    except BaseException as exc:
        observation.status = exc.problem.status if isinstance(exc, ProblemError) else 500
        raise
    else:
        observation.status = _status(response, observation.status)
        return response
    finally:
        CURRENT.reset(token)
        observer.finish(observation)


def event_request_id(name: str, event: dict[str, Any], context: Any) -> str | None:
    """The id AWS gave what the event carries: API Gateway's request, a lone SQS message, the
    S3 Batch Operations task; None where the invocation's own id is the best name."""
    try:
        if name == "http":
            return for_http_event(event, context)
        if name == "sqs" and len(event["Records"]) == 1:
            return str(event["Records"][0]["messageId"])
        if name == "s3-batch" and len(event["tasks"]) == 1:
            return str(event["tasks"][0]["taskId"])
    except (KeyError, TypeError, IndexError):
        return None  # a malformed event: the source reports it
    return None


def _status(response: Any, default: int) -> int:
    """HTTP events' status code; a problem answered in band (direct invoke, EventBridge) its status."""
    if isinstance(response, dict):
        status = response.get("statusCode")
        if isinstance(status, int):
            return status
        status = response.get("status")
        if isinstance(status, int) and "title" in response:
            return status
    return default


def _payload(name: str, event: dict[str, Any]) -> str:
    if name == "http":
        body = event.get("body")
        return body if isinstance(body, str) else ""
    return json.dumps(event)
