"""SQS batches and S3 files leave one log line and one EMF line per event, with records by outcome."""

from __future__ import annotations

import pytest
from support.aws_events import s3_batch, s3_put, sqs_batch
from support.emf import value
from support.event_sources import handler_for, item, jsonl
from support.lambda_events import LambdaContext
from support.observed import emitted
from support.s3_server import EventsAws

CONTEXT = LambdaContext()
CANARY = "canary-83c1-record"


def test_an_sqs_batch_counts_its_messages_by_outcome(
    events_aws: EventsAws, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = events_aws.server.create_bucket()
    bodies = [
        item("a"),
        {"instances": [item("b"), item("c")]},
        {"instances": [item("d"), {"x": -1}]},
        "not json",
    ]
    handler = handler_for("echo", {"OUTPUT_URI": f"s3://{bucket}/replies/"})

    with emitted(handler.runtime, caplog) as out:
        answer = handler(sqs_batch(bodies), CONTEXT)

    assert answer == {"batchItemFailures": []}
    metrics = out.metrics
    assert value(metrics, "RecordsPredicted") == [2]
    assert value(metrics, "RecordsInvalid") == [2]
    assert value(metrics, "RecordsFailed") == [0]
    assert value(metrics, "Instances") == [3]  # a, b and c reached predict; d's message was refused
    assert value(metrics, "BatchSize") == [3]
    assert "Errors" not in {m.name for m in metrics}
    line = out.request_line()
    assert (line["source"], line["status"]) == ("sqs", 200)
    assert line["request_id"] == line["function_request_id"] == CONTEXT.aws_request_id
    assert line["records"] == {"predicted": 2, "invalid": 2, "failed": 0}


def test_failed_sqs_messages_are_counted_failed(
    events_aws: EventsAws, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = events_aws.server.create_bucket()
    handler = handler_for("exc_in_predict", {"OUTPUT_URI": f"s3://{bucket}/replies/"})

    with emitted(handler.runtime, caplog) as out:
        answer = handler(sqs_batch([item("a"), item("b"), {"x": 0}]), CONTEXT)

    assert len(answer["batchItemFailures"]) == 2
    assert value(out.metrics, "RecordsFailed") == [2]
    assert value(out.metrics, "RecordsInvalid") == [1]
    assert value(out.metrics, "RecordsPredicted") == [0]


def test_a_lone_sqs_message_names_the_line(events_aws: EventsAws, caplog: pytest.LogCaptureFixture) -> None:
    bucket = events_aws.server.create_bucket()
    handler = handler_for("echo", {"OUTPUT_URI": f"s3://{bucket}/replies/"})

    with emitted(handler.runtime, caplog) as out:
        handler(sqs_batch([item("a")]), CONTEXT)

    assert out.request_line()["request_id"] == "msg-0"


def test_an_s3_file_counts_its_records_by_outcome(
    events_aws: EventsAws, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = events_aws.server.create_bucket()
    events_aws.s3.put_object(
        Bucket=bucket, Key="in/rows.jsonl", Body=jsonl(item("a"), {"x": -2, "name": "b"}, item("c"), b"{oops")
    )
    handler = handler_for("echo", {"OUTPUT_URI": f"s3://{bucket}/out/", "PREDICTOR_BATCH_SIZE": "1"})

    with emitted(handler.runtime, caplog) as out:
        handler(s3_put(bucket, "in/rows.jsonl"), CONTEXT)

    metrics = out.metrics
    assert value(metrics, "RecordsPredicted") == [2]
    assert value(metrics, "RecordsInvalid") == [2]
    assert value(metrics, "BatchSize") == [1, 1]
    assert out.request_line()["source"] == "s3"
    assert out.request_line()["records"] == {"predicted": 2, "invalid": 2, "failed": 0}


def test_an_s3_batch_operations_task_names_the_line_and_a_missing_file_counts_failed(
    events_aws: EventsAws, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = events_aws.server.create_bucket()
    handler = handler_for("echo", {"OUTPUT_URI": f"s3://{bucket}/out/"})

    with emitted(handler.runtime, caplog) as out:
        answer = handler(s3_batch(bucket, ["in/absent.jsonl"]), CONTEXT)

    assert answer["results"][0]["resultCode"] == "PermanentFailure"
    assert (out.request_line()["request_id"], out.request_line()["source"]) == ("task-0", "s3-batch")
    assert value(out.metrics, "FilesFailed") == [1]


def test_no_record_reaches_a_log_line(events_aws: EventsAws, caplog: pytest.LogCaptureFixture) -> None:
    bucket = events_aws.server.create_bucket()
    events_aws.s3.put_object(Bucket=bucket, Key="in/c.jsonl", Body=jsonl(item(CANARY), {"x": CANARY}))
    handler = handler_for("echo", {"OUTPUT_URI": f"s3://{bucket}/out/"})

    with emitted(handler.runtime, caplog) as out:
        handler(s3_put(bucket, "in/c.jsonl"), CONTEXT)
        handler(sqs_batch([item(CANARY), {"x": CANARY}, f"not json {CANARY}"]), CONTEXT)

    assert len(out.records("request")) == 2
    for line in out.lines:
        assert CANARY not in line
    assert CANARY not in caplog.text
