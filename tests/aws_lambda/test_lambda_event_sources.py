"""S3 Batch Operations, EventBridge and unknown events; event paths never import the HTTP stack."""

from __future__ import annotations

import json
import textwrap

import pytest
from support.aws_events import custom_event, s3_batch, scheduled_event
from support.event_sources import handler_for, item, jsonl, keys, read
from support.fresh_python import python_json, run_python
from support.lambda_events import LambdaContext
from support.paths import TESTS
from support.s3_server import EventsAws, clean_environ

from predictor.aws_lambda import UnrecognisedEvent


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_batch_operations_answer_each_task(events_aws: EventsAws, version: str) -> None:
    inputs, outputs = events_aws.server.create_bucket(), events_aws.server.create_bucket()
    events_aws.s3.put_object(Bucket=inputs, Key="ok file.jsonl", Body=jsonl(item("a"), b"{"))
    events_aws.s3.put_object(Bucket=inputs, Key="data.parquet", Body=b"PAR1")
    event = s3_batch(inputs, ["ok file.jsonl", "data.parquet", "gone.jsonl"], version=version)

    answer = handler_for("echo", {"OUTPUT_URI": f"s3://{outputs}/out/"})(event, LambdaContext())

    assert answer["invocationSchemaVersion"] == version
    assert answer["invocationId"] == event["invocationId"]
    assert answer["treatMissingKeysAs"] == "PermanentFailure"
    codes = [(result["taskId"], result["resultCode"]) for result in answer["results"]]
    assert codes == [("task-0", "Succeeded"), ("task-1", "PermanentFailure"), ("task-2", "PermanentFailure")]
    assert answer["results"][0]["resultString"].startswith(f"s3://{outputs}/out/ok file.jsonl.out (2 records")
    assert "does not exist" in answer["results"][2]["resultString"]
    assert keys(events_aws.s3, outputs) == ["out/ok file.jsonl.manifest.json", "out/ok file.jsonl.out"]


def test_batch_operations_report_a_predictor_failure_as_temporary(events_aws: EventsAws) -> None:
    inputs, outputs = events_aws.server.create_bucket(), events_aws.server.create_bucket()
    events_aws.s3.put_object(Bucket=inputs, Key="a.jsonl", Body=jsonl(item("boom")))

    answer = handler_for("exc_on_name", {"OUTPUT_URI": f"s3://{outputs}/"})(
        s3_batch(inputs, ["a.jsonl"]), None
    )

    assert [result["resultCode"] for result in answer["results"]] == ["TemporaryFailure"]
    assert keys(events_aws.s3, outputs) == []


def test_custom_eventbridge_event_returns_and_writes_the_response(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    event = custom_event({"instances": [item("a"), item("b")]}, event_id="evt-1")

    answer = handler_for("echo", {"OUTPUT_URI": f"s3://{bucket}/events/"})(event, LambdaContext())

    assert [p["name"] for p in answer["predictions"]] == ["a", "b"]
    assert json.loads(read(events_aws.s3, bucket, "events/evt-1.json")) == answer


def test_custom_eventbridge_event_with_invalid_detail_returns_the_problem(events_aws: EventsAws) -> None:
    answer = handler_for("echo", {})(custom_event({"instances": [{"x": 1}]}), LambdaContext())

    assert answer["status"] == 422
    assert answer["errors"][0]["loc"] == ["instances", 0, "name"]


def test_custom_eventbridge_event_raises_when_predict_fails(events_aws: EventsAws) -> None:
    with pytest.raises(RuntimeError, match="was not answered: The predictor failed on this request"):
        handler_for("exc_in_predict", {})(custom_event({"instances": [item("a")]}), LambdaContext())


def test_scheduled_event_runs_the_health_check() -> None:
    assert handler_for("echo", {})(scheduled_event(), LambdaContext()) == {"status": "ready"}
    answer = handler_for("exc_in_setup", {})(scheduled_event(), LambdaContext())
    assert answer["status"] == 503
    assert answer["detail"].startswith("Not ready: setup failed")


@pytest.mark.parametrize(
    "event",
    [
        {"Records": [{"eventSource": "aws:kinesis"}]},
        {"source": "aws.s3", "detail-type": "Object Deleted"},
        [1],
    ],
)
def test_an_event_of_no_known_shape_raises_naming_what_arrived(event: object) -> None:
    with pytest.raises(UnrecognisedEvent, match=r"Unrecognised event: received (an object with keys|a JSON)"):
        handler_for("echo", {})(event, LambdaContext())


EVENT_PATH_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path[:0] = [sys.argv[1]]
    from support.aws_events import s3_put, sqs_batch
    from support.event_sources import handler_for, item
    bucket = sys.argv[2]
    handler = handler_for("iris", {"OUTPUT_URI": f"s3://{bucket}/out/"})
    print(json.dumps(handler(s3_put(bucket, "in/a.jsonl"), None)))
    print(json.dumps(handler(sqs_batch([item("a")]), None)))
    print(json.dumps(sorted(m for m in ("fastapi", "starlette", "mangum") if m in sys.modules)))
    """
)


def test_event_paths_never_import_the_http_stack(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    events_aws.s3.put_object(Bucket=bucket, Key="in/a.jsonl", Body=b"{}\n")
    env = clean_environ(**events_aws.server.env, AWS_ENDPOINT_URL=events_aws.server.endpoint_url)

    finished = run_python(EVENT_PATH_SCRIPT, str(TESTS), bucket, env=env)

    assert finished.returncode == 0, finished.stderr
    # The function's log and metric lines share stdout with the script's three answers.
    printed = [json.loads(line) for line in finished.stdout.splitlines()]
    answers = [value for value in printed if not (isinstance(value, dict) and ({"_aws", "level"} & {*value}))]
    s3_answer, sqs_answer, http_modules = answers
    assert s3_answer["results"][0]["invalid"] == 1
    assert sqs_answer == {"batchItemFailures": []}
    assert http_modules == []


INIT_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from predictor._loading import load_predictor_class
    from predictor.aws_lambda import lambda_handler
    from predictor import _aws_clients
    lambda_handler(load_predictor_class("tests/fixtures/predictors/echo.py"))
    made = _aws_clients.made()
    print(json.dumps({"boto3": "boto3" in sys.modules, "clients": made}))
    """
)


@pytest.mark.parametrize(
    ("output_uri", "expected"),
    [
        (None, {"boto3": False, "clients": 0}),
        ("s3://results/out/", {"boto3": True, "clients": 1}),
        ("https://sqs.us-east-1.amazonaws.com/123456789012/replies", {"boto3": True, "clients": 2}),
    ],
)
def test_an_event_function_makes_its_aws_clients_at_init_and_an_http_one_never_imports_boto3(
    output_uri: str | None, expected: dict[str, object]
) -> None:
    settings = {"AWS_DEFAULT_REGION": "us-east-1"} | ({"OUTPUT_URI": output_uri} if output_uri else {})
    assert python_json(INIT_SCRIPT, env=clean_environ(**settings)) == expected


def test_an_event_function_whose_clients_cannot_be_made_at_init_still_starts_and_says_why() -> None:
    # No region: boto3 makes the S3 client (it defaults to us-east-1) but not the SQS one.
    finished = run_python(
        INIT_SCRIPT, env=clean_environ(OUTPUT_URI="https://sqs.us-east-1.amazonaws.com/123456789012/replies")
    )

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout.splitlines()[-1]) == {"boto3": True, "clients": 1}
    assert "could not make the AWS clients at init" in finished.stdout
    assert "NoRegionError" in finished.stdout


FREEZE_SCRIPT = textwrap.dedent(
    """
    import gc, json
    from predictor._loading import load_predictor_class
    from predictor.aws_lambda import lambda_handler
    handler = lambda_handler(load_predictor_class("tests/fixtures/predictors/echo.py"))
    frozen = gc.get_freeze_count()
    answer = handler({"instances": [{"x": 1.5, "name": "a"}]})
    print(json.dumps({"frozen": frozen > 1000, "answer": answer}))
    """
)


@pytest.mark.parametrize(
    ("lambda_env", "frozen"), [({"AWS_LAMBDA_FUNCTION_NAME": "iris-fn"}, True), ({}, False)]
)
def test_on_lambda_what_init_made_is_kept_out_of_the_collectors_walks(
    lambda_env: dict[str, str], frozen: bool
) -> None:
    report = python_json(FREEZE_SCRIPT, env=clean_environ(AWS_DEFAULT_REGION="us-east-1", **lambda_env))

    assert report == {"frozen": frozen, "answer": {"predictions": [{"name": "a", "doubled": 3.0}]}}
