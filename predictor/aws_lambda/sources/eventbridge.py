"""EventBridge events: a schedule's keep-warm ping, and custom events whose `detail` is a request."""

from __future__ import annotations

import json
from typing import Any

from predictor import problems
from predictor._aws_clients import client
from predictor.aws_lambda._settings import EventSettings, S3Prefix
from predictor.aws_lambda._source import request_id
from predictor.aws_lambda.s3_files import put_json
from predictor.runtime import Runtime


class ScheduledEvent:
    """`aws.events` "Scheduled Event": runs the health check, so a schedule keeps the function warm."""

    def __init__(self, runtime: Runtime, settings: EventSettings) -> None:
        self.runtime = runtime

    @staticmethod
    def infer(event: dict[str, Any]) -> bool:
        return event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event"

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        reason = self.runtime.not_ready_reason()
        if reason is None:
            return {"status": "ready"}
        return problems.not_ready(reason).model_dump(mode="json", exclude_none=True)


class PredictionFailed(RuntimeError):
    """The event could not be answered now; raised so EventBridge's retry policy runs it again."""


class CustomEvent:
    """An event a user's application puts on a bus (`source` never starts with `aws.`)."""

    def __init__(self, runtime: Runtime, settings: EventSettings) -> None:
        self.runtime = runtime
        self.output = settings.output

    @staticmethod
    def infer(event: dict[str, Any]) -> bool:
        source = event.get("source")
        return (
            isinstance(source, str)
            and not source.startswith("aws.")
            and "detail-type" in event
            and "detail" in event
        )

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

        parsed = EventBridgeEvent(event)
        status, answer = self.runtime.predict_envelope(parsed.detail, request_id(context))
        if status >= 500 or status in (408, 429):
            raise PredictionFailed(f"event {parsed.get_id} was not answered: {answer['detail']}")
        if isinstance(self.output, S3Prefix):
            key = f"{self.output.prefix}{parsed.get_id}.json"
            put_json(client("s3"), self.output.bucket, key, json.dumps(answer).encode())
        return answer
