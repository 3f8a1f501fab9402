"""S3 object notifications, however they arrive: which objects were created, and running them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import unquote_plus

from predictor._log import logger
from predictor.aws_lambda.s3_files._files import FileResult, MissingObject, S3Files


@dataclass(frozen=True)
class CreatedObject:
    bucket: str
    key: str
    version_id: str | None
    #: The key as the event spelled it, tried when the decoded `key` does not exist.
    spelled: str | None = None


def is_s3_notification(event: object) -> TypeGuard[dict[str, Any]]:
    if not isinstance(event, dict):
        return False
    records = event.get("Records")
    return (
        bool(records)
        and isinstance(records, list)
        and isinstance(records[0], dict)
        and (records[0].get("eventSource") == "aws:s3")
    )


def is_s3_test_event(event: object) -> bool:
    """S3 sends this once when a notification is configured; there is nothing to do."""
    return isinstance(event, dict) and event.get("Event") == "s3:TestEvent"


def created_objects(event: dict[str, Any]) -> list[CreatedObject]:
    """The objects an S3 notification reports created (keys URL-decoded); other events are ignored."""
    from aws_lambda_powertools.utilities.data_classes import S3Event

    found = []
    for record in S3Event(event).records:
        if not record.event_name.startswith("ObjectCreated:"):
            logger().info("ignored an S3 event that creates no object", extra={"event": record.event_name})
            continue
        created = record.s3.get_object
        # S3 URL-encodes keys in notifications: "my file.csv" arrives as "my+file.csv".
        found.append(CreatedObject(record.s3.bucket.name, unquote_plus(created.key), created.version_id))
    return found


def run_all(files: S3Files, objects: list[CreatedObject], context: Any) -> list[FileResult]:
    """Every object is tried; if any failed, raise after the rest ran, naming each failure, so the
    event is retried (each output is rewritten with the same bytes)."""
    results, failures = [], []
    for found in objects:
        try:
            results.append(_process(files, found, context))
        except Exception as exc:
            logger().exception("an S3 input failed", extra={"bucket": found.bucket, "key": found.key})
            failures.append(f"s3://{found.bucket}/{found.key}: {exc}")
    if failures:
        raise FilesFailed(f"{len(failures)} of {len(objects)} input files failed: " + "; ".join(failures))
    return results


def _process(files: S3Files, found: CreatedObject, context: Any) -> FileResult:
    try:
        return files.process(found.bucket, found.key, found.version_id, context)
    except MissingObject:
        if found.spelled is None or found.spelled == found.key:
            raise
        logger().info(
            "no object under the decoded key; trying the key as the event spelled it",
            extra={"bucket": found.bucket, "key": found.key, "spelled": found.spelled},
        )
        try:
            return files.process(found.bucket, found.spelled, found.version_id, context)
        except MissingObject:
            raise MissingObject(
                f"s3://{found.bucket}/{found.key} does not exist, nor s3://{found.bucket}/{found.spelled} "
                "as the event spelled it (deleted since the event was sent?)"
            ) from None


class FilesFailed(RuntimeError):
    """Some input files of one event failed; raised so Lambda retries or dead-letters the event."""
