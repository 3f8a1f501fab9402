"""S3 Batch Operations (`invocationSchemaVersion` 1.0 and 2.0): one input file per task."""

from __future__ import annotations

from typing import Any, Literal

from predictor._log import logger
from predictor.aws_lambda._settings import EventSettings
from predictor.aws_lambda.s3_files import NotConfigured, S3Files
from predictor.codec import BadObject
from predictor.runtime import Runtime

ResultCode = Literal["Succeeded", "TemporaryFailure", "PermanentFailure"]
SUCCEEDED: ResultCode = "Succeeded"
TEMPORARY: ResultCode = "TemporaryFailure"
PERMANENT: ResultCode = "PermanentFailure"


class S3BatchOperations:
    def __init__(self, runtime: Runtime, settings: EventSettings) -> None:
        self.files = S3Files(runtime, settings)

    @staticmethod
    def infer(event: dict[str, Any]) -> bool:
        return "invocationSchemaVersion" in event and "tasks" in event

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.data_classes import S3BatchOperationEvent

        parsed = S3BatchOperationEvent(event)
        results = []
        for task in parsed.tasks:
            code, message = self.run(task.s3_bucket, task.s3_key, task.s3_version_id, context)
            results.append({"taskId": task.task_id, "resultCode": code, "resultString": message})
        # S3 sends one task per invocation today; Powertools' response class insists on exactly
        # one result, so the answer is built here and stays right if a job ever sends more.
        return {
            "invocationSchemaVersion": parsed.invocation_schema_version,
            "treatMissingKeysAs": PERMANENT,
            "invocationId": parsed.invocation_id,
            "results": results,
        }

    def run(self, bucket: str, key: str, version_id: str | None, context: Any) -> tuple[ResultCode, str]:
        """The task's result code and the string S3 puts in the job's completion report."""
        try:
            result = self.files.process(bucket, key, version_id, context)
        except (BadObject, NotConfigured) as exc:
            return PERMANENT, str(exc)
        except Exception as exc:
            logger().exception("an S3 Batch Operations task failed", extra={"bucket": bucket, "key": key})
            return TEMPORARY, f"{type(exc).__name__}: {exc}"
        if result.skipped:
            return SUCCEEDED, f"skipped: {result.skipped}"
        return SUCCEEDED, (
            f"{result.output} ({result.records} records: {result.predicted} predicted, "
            f"{result.invalid} invalid); manifest {result.manifest}"
        )
