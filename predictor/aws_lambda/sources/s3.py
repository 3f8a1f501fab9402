"""S3 notifications sent straight to the function: `Records[].eventSource == "aws:s3"`."""

from __future__ import annotations

from typing import Any

from predictor.aws_lambda._settings import EventSettings
from predictor.aws_lambda.s3_files import S3Files, created_objects, is_s3_notification, run_all
from predictor.runtime import Runtime


class S3Notification:
    def __init__(self, runtime: Runtime, settings: EventSettings) -> None:
        self.files = S3Files(runtime, settings)

    @staticmethod
    def infer(event: dict[str, Any]) -> bool:
        return is_s3_notification(event)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        results = run_all(self.files, created_objects(event), context)
        return {"results": [result.summary() for result in results]}
