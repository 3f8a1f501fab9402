"""S3 "Object Created" events delivered by EventBridge (the bucket's EventBridge notifications on)."""

from __future__ import annotations

from typing import Any

from predictor.aws_lambda._settings import EventSettings
from predictor.aws_lambda.s3_files import CreatedObject, S3Files, run_all
from predictor.runtime import Runtime


class S3EventBridge:
    def __init__(self, runtime: Runtime, settings: EventSettings) -> None:
        self.files = S3Files(runtime, settings)

    @staticmethod
    def infer(event: dict[str, Any]) -> bool:
        return event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created"

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent

        detail = S3EventBridgeNotificationEvent(event).detail
        # The key property URL-decodes, as for notifications; AWS does not document whether
        # EventBridge encodes keys, so the key as spelled is tried when no object has the decoded
        # one ("a+b.jsonl" must not become "a b.jsonl"). "version-id" is absent when unversioned.
        found = CreatedObject(
            detail.bucket.name, detail.object.key, detail.object.get("version-id"), detail.object["key"]
        )
        return {"results": [result.summary() for result in run_all(self.files, [found], context)]}
