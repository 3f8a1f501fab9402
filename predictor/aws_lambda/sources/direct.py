"""Direct invocation with the request envelope: `aws lambda invoke --payload '{"instances": [...]}'`."""

from __future__ import annotations

from typing import Any

from predictor.aws_lambda._settings import EventSettings
from predictor.aws_lambda._source import request_id
from predictor.problems import Problem, ProblemError
from predictor.runtime import Runtime


class DirectInvoke:
    def __init__(self, runtime: Runtime, settings: EventSettings) -> None:
        self.runtime = runtime

    @staticmethod
    def infer(event: dict[str, Any]) -> bool:
        # `instances_uri`: a request stored in S3 (PREDICTOR_LARGE_PAYLOAD_URI).
        return "instances" in event or "instances_uri" in event

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """A 4xx (the caller's input) is answered in band; a 5xx raises, so Lambda counts the error,
        async invocations retry and reach their failure destination, and Step Functions can catch it."""
        status, answer = self.runtime.predict_envelope(event, request_id(context))
        if status >= 500:
            raise ProblemError(Problem.model_validate(answer))
        return answer
