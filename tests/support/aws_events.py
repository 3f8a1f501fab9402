"""S3, SQS, EventBridge and S3 Batch Operations events for the tests: the builders are
predictor.testing.events' (what users' own tests call), plus the sample events in events/.
`PYTHONPATH=tests python -m support.aws_events` rewrites the event-source samples in events/ from these
builders.
"""

from __future__ import annotations

import json
from typing import Any

from predictor.testing.events import (
    ACCOUNT,
    REGION,
    custom_event,
    eventbridge_object_created,
    s3_batch,
    s3_put,
    s3_test_event,
    scheduled_event,
    sqs_batch,
)
from support.paths import SAMPLES

__all__ = [
    "ACCOUNT",
    "REGION",
    "SAMPLE_BUCKET",
    "SAMPLE_KEY",
    "SETOSA",
    "custom_event",
    "eventbridge_object_created",
    "s3_batch",
    "s3_put",
    "s3_test_event",
    "sample_events",
    "scheduled_event",
    "sqs_batch",
]

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
