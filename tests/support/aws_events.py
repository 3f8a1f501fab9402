"""S3, SQS, EventBridge and S3 Batch Operations events in the shapes AWS sends.

tests/fixtures/events/ holds `sam local generate-event` output verbatim (`s3 put`,
`sqs receive-message`, `s3 batch-invocation`, `cloudwatch scheduled-event`). SAM CLI has no
generator for EventBridge's S3 "Object Created", custom EventBridge events, S3's test event,
or Batch Operations schema 2.0; those follow the shapes in AWS's documentation.
`PYTHONPATH=tests python -m support.aws_events` rewrites the event-source samples in events/ from these
builders.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any
from urllib.parse import quote_plus

from support.paths import EVENT_TEMPLATES, SAMPLES

REGION = "us-east-1"
ACCOUNT = "123456789012"


@cache
def _loaded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENT_TEMPLATES / name).read_text())
    return loaded


def _template(name: str) -> dict[str, Any]:
    return copy.deepcopy(_loaded(name))


def s3_put(bucket: str, key: str, *, records: int = 1) -> dict[str, Any]:
    """A direct S3 notification; S3 URL-encodes the key ("my file" arrives as "my+file")."""
    event = _template("s3-put.json")
    record = event["Records"][0]
    record["s3"]["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
    record["s3"]["object"]["key"] = quote_plus(key, safe="/")
    event["Records"] = [copy.deepcopy(record) for _ in range(records)]
    return event


def s3_test_event(bucket: str) -> dict[str, Any]:
    """What S3 sends once when a notification is configured (AWS S3 user guide, notification content)."""
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-22T10:00:00.000Z",
        "Bucket": bucket,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }


def sqs_batch(
    bodies: list[Any], *, queue: str = "predictions", groups: list[str] | None = None
) -> dict[str, Any]:
    """One record per body (a str is sent as is, anything else JSON-encoded); ids msg-0, msg-1, ..."""
    template = _template("sqs-receive-message.json")["Records"][0]
    records = []
    for number, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"msg-{number}"
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        record["eventSourceARN"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"
        if groups is not None:
            record["attributes"].update(
                MessageGroupId=groups[number],
                MessageDeduplicationId=f"dedup-{number}",
                SequenceNumber=str(number),
            )
        records.append(record)
    return {"Records": records}


def eventbridge_object_created(bucket: str, key: str) -> dict[str, Any]:
    """S3 "Object Created" through EventBridge (AWS S3 user guide, EventBridge event message structure)."""
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2026-11-22T10:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": 5,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "sequencer": "00617F08299329D189",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": ACCOUNT,
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }


def s3_batch(bucket: str, keys: list[str], *, version: str = "1.0") -> dict[str, Any]:
    """S3 Batch Operations; schema 2.0 names the bucket in `s3Bucket` (AWS S3 user guide, Invoke Lambda)."""
    event = _template("s3-batch-invocation.json")
    event["invocationSchemaVersion"] = version
    tasks = []
    for number, key in enumerate(keys):
        task: dict[str, Any] = {
            "taskId": f"task-{number}",
            "s3Key": quote_plus(key, safe="/"),
            "s3VersionId": None,
        }
        if version == "1.0":
            task["s3BucketArn"] = f"arn:aws:s3:::{bucket}"
        else:
            task["s3Bucket"] = bucket
        tasks.append(task)
    event["tasks"] = tasks
    if version == "2.0":
        event["job"]["userArguments"] = {}
    return event


def scheduled_event() -> dict[str, Any]:
    return _template("scheduled-event.json")


def custom_event(detail: Any, *, event_id: str = "a3c2e6b0-5d8f-4a8e-9f1d-1c2b3a4d5e6f") -> dict[str, Any]:
    """An application's own event on a bus (EventBridge user guide, event structure)."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Prediction Requested",
        "source": "com.example.flowers",
        "account": ACCOUNT,
        "time": "2026-11-22T10:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


SAMPLE_BUCKET = "example-bucket"
SAMPLE_KEY = "input/flowers.jsonl"
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def sample_events() -> dict[str, Any]:
    """events/ samples for every event source, by file name."""
    return {
        "s3-put.json": s3_put(SAMPLE_BUCKET, SAMPLE_KEY),
        "s3-eventbridge-object-created.json": eventbridge_object_created(SAMPLE_BUCKET, SAMPLE_KEY),
        "s3-via-sqs.json": sqs_batch([s3_put(SAMPLE_BUCKET, SAMPLE_KEY)], queue="uploads"),
        "s3-test-event-via-sqs.json": sqs_batch([s3_test_event(SAMPLE_BUCKET)], queue="uploads"),
        "s3-batch-operations-1.0.json": s3_batch(SAMPLE_BUCKET, [SAMPLE_KEY], version="1.0"),
        "s3-batch-operations-2.0.json": s3_batch(SAMPLE_BUCKET, [SAMPLE_KEY], version="2.0"),
        "sqs-predict.json": sqs_batch([SETOSA, {"instances": [SETOSA, SETOSA]}, {"sepal_length": -1}]),
        "eventbridge-custom.json": custom_event({"instances": [SETOSA]}),
        "eventbridge-scheduled.json": scheduled_event(),
    }


if __name__ == "__main__":
    for name, event in sample_events().items():
        (SAMPLES / name).write_text(json.dumps(event, indent=2) + "\n")
