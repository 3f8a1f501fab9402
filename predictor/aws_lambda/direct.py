"""Direct invocation with the request envelope: `aws lambda invoke --payload '{"instances": [...]}'`."""

from __future__ import annotations

from typing import Any

from predictor.aws_lambda._source import request_id
from predictor.runtime import Runtime


class DirectInvoke:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @staticmethod
    def infer(event: dict[str, Any]) -> bool:
        return "instances" in event

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self.runtime.predict_envelope(event, request_id(context))[1]
