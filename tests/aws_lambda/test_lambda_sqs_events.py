"""SQS batches: every message is answered (predictions or a problem) or reported in batchItemFailures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.aws_events import sqs_batch
from support.event_sources import handler_for, item, keys, read
from support.fresh_python import run_cli
from support.lambda_events import SETOSA, LambdaContext
from support.paths import FIXTURES
from support.s3_server import EventsAws

from predictor.aws_lambda import MalformedEvent


def received(sqs: Any, queue_url: str) -> dict[str, dict[str, Any]]:
    """Every reply on the queue, by the id of the message it answers."""
    replies: dict[str, dict[str, Any]] = {}
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            reply = json.loads(message["Body"])
            assert reply["messageId"] not in replies
            replies[reply["messageId"]] = reply
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return replies


def test_replies_to_s3_answer_every_message(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    bodies = [
        item("a"),
        {"instances": [item("b"), item("c")]},
        {"instances": [item("d"), {"x": -1}]},
        "not json",
    ]
    handler = handler_for("echo", {"OUTPUT_URI": f"s3://{bucket}/replies"})

    answer = handler(sqs_batch(bodies), LambdaContext())

    assert answer == {"batchItemFailures": []}
    assert keys(events_aws.s3, bucket) == [f"replies/msg-{n}.json" for n in range(4)]
    replies = [json.loads(read(events_aws.s3, bucket, f"replies/msg-{n}.json")) for n in range(4)]
    assert [p["name"] for p in replies[0]["predictions"]] == ["a"]
    assert [p["name"] for p in replies[1]["predictions"]] == ["b", "c"]
    assert replies[2]["problem"]["errors"][0]["loc"] == ["instances", 1, "x"]
    assert replies[3]["problem"]["status"] == 400
    assert [reply["messageId"] for reply in replies] == [f"msg-{n}" for n in range(4)]


def test_replies_to_a_queue_are_one_message_per_record(events_aws: EventsAws) -> None:
    queue = events_aws.sqs.create_queue(QueueName="replies-plain")["QueueUrl"]
    bodies = [SETOSA if n % 7 else {"sepal_length": "x"} for n in range(25)]

    answer = handler_for("iris", {"OUTPUT_URI": queue})(sqs_batch(bodies), LambdaContext())

    assert answer == {"batchItemFailures": []}
    replies = received(events_aws.sqs, queue)
    assert sorted(replies) == sorted(f"msg-{n}" for n in range(25))
    assert {n for n in range(25) if "problem" in replies[f"msg-{n}"]} == {0, 7, 14, 21}
    assert replies["msg-1"]["predictions"][0]["label"] == "setosa"


def test_a_failing_predict_reports_exactly_the_records_of_its_chunk(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    # Chunks of two instances: [a, b] [boom, {invalid} skipped -> c] ... invalid records never reach predict.
    bodies = [item("a"), item("b"), item("boom"), {"x": -1}, item("c"), item("d"), item("e")]
    handler = handler_for("exc_on_name", {"OUTPUT_URI": f"s3://{bucket}/r/", "PREDICTOR_BATCH_SIZE": "2"})

    answer = handler(sqs_batch(bodies), LambdaContext())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-2"}, {"itemIdentifier": "msg-4"}]}
    assert keys(events_aws.s3, bucket) == [f"r/msg-{n}.json" for n in (0, 1, 3, 5, 6)]


def test_a_non_finite_prediction_fails_its_chunk_for_retry_instead_of_replying_null(
    events_aws: EventsAws,
) -> None:
    bucket = events_aws.server.create_bucket()
    # Chunks of two: [a, b] [inf, c] [d]; the chunk holding the infinity is retried whole.
    bodies = [item("a"), item("b"), item("inf"), item("c"), item("d")]
    handler = handler_for("inf_on_name", {"OUTPUT_URI": f"s3://{bucket}/r/", "PREDICTOR_BATCH_SIZE": "2"})

    answer = handler(sqs_batch(bodies), LambdaContext())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-2"}, {"itemIdentifier": "msg-3"}]}
    assert keys(events_aws.s3, bucket) == [f"r/msg-{n}.json" for n in (0, 1, 4)]
    assert json.loads(read(events_aws.s3, bucket, "r/msg-4.json"))["predictions"][0]["name"] == "d"


def test_on_a_fifo_queue_a_failure_fails_the_rest_of_its_group(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    bodies = [item("a"), item("boom"), item("b"), item("c"), item("d")]
    groups = ["g1", "g1", "g2", "g1", "g2"]
    handler = handler_for("exc_on_name", {"OUTPUT_URI": f"s3://{bucket}/r/", "PREDICTOR_BATCH_SIZE": "1"})

    answer = handler(sqs_batch(bodies, queue="jobs.fifo", groups=groups), LambdaContext())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-1"}, {"itemIdentifier": "msg-3"}]}
    assert keys(events_aws.s3, bucket) == [f"r/msg-{n}.json" for n in (0, 2, 4)]


def test_without_output_uri_every_record_is_reported_failed(events_aws: EventsAws) -> None:
    answer = handler_for("echo", {})(sqs_batch([item("a"), item("b")]), LambdaContext())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-0"}, {"itemIdentifier": "msg-1"}]}


def test_a_failed_reply_write_reports_the_record(events_aws: EventsAws) -> None:
    handler = handler_for("echo", {"OUTPUT_URI": "s3://no-such-bucket-for-replies/r/"})

    answer = handler(sqs_batch([item("a"), "not json"]), LambdaContext())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-0"}, {"itemIdentifier": "msg-1"}]}


def test_a_missing_reply_queue_reports_every_record(events_aws: EventsAws) -> None:
    queue = events_aws.server.endpoint_url + "/123456789012/no-such-queue"
    answer = handler_for("echo", {"OUTPUT_URI": queue})(sqs_batch([item("a")]), LambdaContext())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}


@pytest.mark.parametrize("size", [1, 40_000])
def test_replies_are_sent_in_batches_within_sqs_limits(events_aws: EventsAws, size: int) -> None:
    queue = events_aws.sqs.create_queue(QueueName=f"replies-{size}")["QueueUrl"]
    bodies = [item("n" * size) for _ in range(23)]

    answer = handler_for("echo", {"OUTPUT_URI": queue})(sqs_batch(bodies), LambdaContext())

    assert answer == {"batchItemFailures": []}
    assert len(received(events_aws.sqs, queue)) == 23


# A batch of bare instances takes the direct path; an envelope among them, the general one.
PATHS: dict[str, list[Any]] = {
    "bare instances": [item("a"), item("b"), item("c"), item("d")],
    "mixed bodies": [item("a"), {"instances": [item("b")]}, item("c"), "not json"],
}
BREAKS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "no messageId": (lambda record: record.pop("messageId"), 'has no "messageId", which SQS always sends'),
    "no body": (lambda record: record.pop("body"), 'has no "body", which SQS always sends'),
    "body an object": (
        lambda record: record.update(body=item("c")),
        'has "body" as a JSON dict, where SQS always sends a string',
    ),
    "attributes a list": (
        lambda record: record.update(attributes=["MessageGroupId"]),
        'has "attributes" as a JSON list, where SQS always sends an object',
    ),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("broken", BREAKS)
def test_a_record_missing_what_sqs_always_sends_raises_naming_the_field_and_the_record(
    events_aws: EventsAws, path: str, broken: str
) -> None:
    bucket = events_aws.server.create_bucket()
    event = sqs_batch(PATHS[path])
    breaking, wrong = BREAKS[broken]
    breaking(event["Records"][2])
    handler = handler_for("echo", {"OUTPUT_URI": f"s3://{bucket}/r/"})

    with pytest.raises(MalformedEvent) as raised:
        handler(event, LambdaContext())

    assert str(raised.value).startswith(
        f"The SQS event's Records[2] {wrong}, so this event was not made by SQS"
    )
    assert "sam local generate-event sqs receive-message" in str(raised.value)
    assert keys(events_aws.s3, bucket) == []  # nothing answered: the whole batch is retried


def test_invoke_of_an_sqs_record_without_a_message_id_fails_naming_the_record(tmp_path: Path) -> None:
    event = sqs_batch([item("a"), item("b")])
    del event["Records"][1]["messageId"]
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))

    finished = run_cli("invoke", str(FIXTURES / "echo.py"), str(path))

    assert finished.returncode == 1
    error = json.loads(finished.stdout)
    assert error["errorType"] == "MalformedEvent"
    assert error["errorMessage"].startswith('The SQS event\'s Records[1] has no "messageId"')
    # One line names the failure, after the invocation's log line and metrics; no traceback.
    assert finished.stderr.endswith(f"\npredictor: MalformedEvent: {error['errorMessage']}\n")
    assert "Traceback" not in finished.stderr
