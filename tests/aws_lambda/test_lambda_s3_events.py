"""S3 input files in all three shapes users wire, against moto on loopback: every record ends as
exactly one prediction or one problem, in order, and the manifest comes last and counts them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from support.aws_events import eventbridge_object_created, s3_put, s3_test_event, sqs_batch
from support.event_sources import handler_for, item, jsonl, keys, read, read_lines
from support.lambda_events import LambdaContext
from support.s3_server import EventsAws

from predictor import Limits

SHAPES = {
    "direct": lambda bucket, key: s3_put(bucket, key),
    "eventbridge": eventbridge_object_created,
    "sqs": lambda bucket, key: sqs_batch([s3_put(bucket, key)], queue="uploads"),
}
KEY = "incoming/flowers of ü + spring.jsonl"


@dataclass
class Buckets:
    inputs: str
    outputs: str

    @property
    def environ(self) -> dict[str, str]:
        return {"OUTPUT_URI": f"s3://{self.outputs}/results/"}


@pytest.fixture
def buckets(events_aws: EventsAws) -> Buckets:
    return Buckets(events_aws.server.create_bucket(), events_aws.server.create_bucket())


def run(handler: Any, event: dict[str, Any], context: Any = None) -> Any:
    return handler(event, context or LambdaContext())


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_record_ends_as_one_prediction_or_problem_in_order(
    events_aws: EventsAws, buckets: Buckets, shape: str
) -> None:
    body = jsonl(item("a"), b"{not json", item("b", x=-1), b"", b"   ", item("c"), [1, 2])
    events_aws.s3.put_object(Bucket=buckets.inputs, Key=KEY, Body=body)
    handler = handler_for("echo", buckets.environ)

    answer = run(handler, SHAPES[shape](buckets.inputs, KEY))

    lines = read_lines(events_aws.s3, buckets.outputs, f"results/{KEY}.out")
    assert [next(iter(line)) for line in lines] == [
        "prediction",
        "problem",
        "problem",
        "prediction",
        "problem",
    ]
    assert [line["prediction"]["name"] for line in lines if "prediction" in line] == ["a", "c"]
    assert [line["problem"]["status"] for line in lines if "problem" in line] == [400, 422, 422]
    assert lines[2]["problem"]["errors"][0]["loc"] == ["instances", 2, "x"]
    manifest = json.loads(read(events_aws.s3, buckets.outputs, f"results/{KEY}.manifest.json"))
    assert (manifest["records"], manifest["predicted"], manifest["invalid"]) == (5, 2, 3)
    assert manifest["input"] == f"s3://{buckets.inputs}/{KEY}"
    assert manifest["model"] == {"name": "Echo", "version": "0"}
    assert manifest["input_etag"] == events_aws.s3.head_object(Bucket=buckets.inputs, Key=KEY)["ETag"].strip(
        '"'
    )
    if shape == "sqs":
        assert answer == {"batchItemFailures": []}
    else:
        assert answer["results"][0]["records"] == 5


@pytest.mark.parametrize("key", ["in/c++ results.jsonl", "in/100%25 sure.jsonl"])
def test_an_eventbridge_key_that_arrives_unencoded_is_still_found(
    events_aws: EventsAws, buckets: Buckets, key: str
) -> None:
    events_aws.s3.put_object(Bucket=buckets.inputs, Key=key, Body=jsonl(item("a"), item("b")))
    event = eventbridge_object_created(buckets.inputs, key)
    event["detail"]["object"]["key"] = key  # as spelled, not URL-encoded: decoding it names no object

    answer = run(handler_for("echo", buckets.environ), event)

    assert answer["results"][0]["input"] == f"s3://{buckets.inputs}/{key}"
    assert answer["results"][0]["records"] == 2
    assert keys(events_aws.s3, buckets.outputs) == [f"results/{key}.manifest.json", f"results/{key}.out"]


def test_a_missing_object_fails_naming_it_whatever_its_spelling(
    events_aws: EventsAws, buckets: Buckets
) -> None:
    event = eventbridge_object_created(buckets.inputs, "in/gone+away.jsonl")

    with pytest.raises(Exception, match=r"1 of 1 input files failed: .*in/gone\+away.jsonl does not exist"):
        run(handler_for("echo", buckets.environ), event)


def test_the_same_event_twice_writes_the_same_output_bytes(events_aws: EventsAws, buckets: Buckets) -> None:
    events_aws.s3.put_object(
        Bucket=buckets.inputs, Key="a.jsonl", Body=jsonl(*(item(str(n)) for n in range(50)))
    )
    handler = handler_for("echo", {**buckets.environ, "PREDICTOR_BATCH_SIZE": "7"})

    run(handler, s3_put(buckets.inputs, "a.jsonl"))
    first = read(events_aws.s3, buckets.outputs, "results/a.jsonl.out")
    run(handler, s3_put(buckets.inputs, "a.jsonl"))

    assert read(events_aws.s3, buckets.outputs, "results/a.jsonl.out") == first
    assert len(first.splitlines()) == 50


def test_predict_gets_chunks_of_at_most_the_batch_size(events_aws: EventsAws, buckets: Buckets) -> None:
    events_aws.s3.put_object(
        Bucket=buckets.inputs, Key="a.jsonl", Body=jsonl(*(item("x") for _ in range(10)))
    )
    handler = handler_for("batch_sizes", {**buckets.environ, "PREDICTOR_BATCH_SIZE": "4"})

    run(handler, s3_put(buckets.inputs, "a.jsonl"))

    sizes = [
        line["prediction"]["name"]
        for line in read_lines(events_aws.s3, buckets.outputs, "results/a.jsonl.out")
    ]
    assert sizes == ["4"] * 8 + ["2"] * 2


def test_csv_rows_with_missing_or_extra_columns_are_problems(events_aws: EventsAws, buckets: Buckets) -> None:
    body = b"\xef\xbb\xbfname,x\na,1.5\nb\nc,2,extra\nd,\n\xff\xfe,1\ne,3\n"
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="t.csv", Body=body)

    run(handler_for("echo", buckets.environ), s3_put(buckets.inputs, "t.csv"))

    lines = read_lines(events_aws.s3, buckets.outputs, "results/t.csv.out")
    assert [line.get("prediction", {}).get("name") for line in lines] == ["a", None, None, None, None, "e"]
    assert "has 1 values but the header names 2 columns (name, x)" in lines[1]["problem"]["detail"]
    assert lines[3]["problem"]["errors"][0]["loc"] == ["instances", 3, "x"]  # an empty cell is missing
    assert lines[4]["problem"]["detail"] == "The row is not UTF-8 text; save the file as UTF-8"


def test_csv_fields_may_hold_line_breaks_and_each_row_is_one_output_line(
    events_aws: EventsAws, buckets: Buckets
) -> None:
    body = b'name,x\r\n"two\r\nlines",1\r\n\r\n"blank\n\nline ""inside""",2\nplain,3\n"unclosed,4\n'
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="q.csv", Body=body)

    run(handler_for("echo", buckets.environ), s3_put(buckets.inputs, "q.csv"))

    lines = read_lines(events_aws.s3, buckets.outputs, "results/q.csv.out")
    names = [line.get("prediction", {}).get("name") for line in lines]
    assert names == ["two\nlines", 'blank\n\nline "inside"', "plain", None]
    assert "The row is not CSV (unexpected end of data)" in lines[3]["problem"]["detail"]
    manifest = json.loads(read(events_aws.s3, buckets.outputs, "results/q.csv.manifest.json"))
    assert (manifest["records"], manifest["predicted"], manifest["invalid"]) == (4, 3, 1)


def test_json_envelope_answers_each_instance(events_aws: EventsAws, buckets: Buckets) -> None:
    envelope = {"instances": [item("a"), {"x": 1}, item("c")]}
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="e.json", Body=json.dumps(envelope).encode())
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="bad.json", Body=b'{"instances": [')

    handler = handler_for("echo", buckets.environ)
    run(handler, s3_put(buckets.inputs, "e.json"))
    run(handler, s3_put(buckets.inputs, "bad.json"))

    lines = read_lines(events_aws.s3, buckets.outputs, "results/e.json.out")
    assert [next(iter(line)) for line in lines] == ["prediction", "problem", "prediction"]
    assert lines[1]["problem"]["errors"][0]["loc"] == ["instances", 1, "name"]
    [bad] = read_lines(events_aws.s3, buckets.outputs, "results/bad.json.out")
    assert bad["problem"]["status"] == 400


def test_empty_file_writes_an_empty_output_and_a_zero_manifest(
    events_aws: EventsAws, buckets: Buckets
) -> None:
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="empty.jsonl", Body=b"")

    run(handler_for("echo", buckets.environ), s3_put(buckets.inputs, "empty.jsonl"))

    assert read(events_aws.s3, buckets.outputs, "results/empty.jsonl.out") == b""
    manifest = json.loads(read(events_aws.s3, buckets.outputs, "results/empty.jsonl.manifest.json"))
    assert (manifest["records"], manifest["predicted"], manifest["invalid"]) == (0, 0, 0)


def test_a_line_over_the_size_limit_is_413_without_losing_the_next(
    events_aws: EventsAws, buckets: Buckets
) -> None:
    huge = json.dumps(item("h" * 3_000_000)).encode()
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="h.jsonl", Body=jsonl(item("a"), huge, item("b")))
    handler = handler_for("echo", buckets.environ, Limits(max_body_bytes=1000))

    run(handler, s3_put(buckets.inputs, "h.jsonl"))

    lines = read_lines(events_aws.s3, buckets.outputs, "results/h.jsonl.out")
    assert [line.get("problem", {}).get("status") for line in lines] == [None, 413, None]
    assert lines[2]["prediction"]["name"] == "b"


def test_unsupported_extension_raises_naming_the_supported_forms(
    events_aws: EventsAws, buckets: Buckets
) -> None:
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="data.parquet", Body=b"PAR1")

    with pytest.raises(Exception, match=r"'data.parquet' is not a supported input.*\.jsonl.*\.csv.*\.json"):
        run(handler_for("echo", buckets.environ), s3_put(buckets.inputs, "data.parquet"))
    assert keys(events_aws.s3, buckets.outputs) == []


def test_input_under_the_output_prefix_is_skipped(events_aws: EventsAws, buckets: Buckets) -> None:
    events_aws.s3.put_object(Bucket=buckets.outputs, Key="results/a.jsonl", Body=jsonl(item("a")))

    answer = run(handler_for("echo", buckets.environ), s3_put(buckets.outputs, "results/a.jsonl"))

    assert "is under OUTPUT_URI" in answer["results"][0]["skipped"]
    assert keys(events_aws.s3, buckets.outputs) == ["results/a.jsonl"]


def test_a_failed_write_raises_and_writes_no_manifest(events_aws: EventsAws, buckets: Buckets) -> None:
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="a.jsonl", Body=jsonl(item("a")))
    handler = handler_for("echo", {"OUTPUT_URI": "s3://no-such-bucket-for-results/out/"})

    with pytest.raises(Exception, match=r"could not write s3://no-such-bucket-for-results/out/a\.jsonl\.out"):
        run(handler, s3_put(buckets.inputs, "a.jsonl"))


def test_predictor_failure_raises_and_writes_nothing(events_aws: EventsAws, buckets: Buckets) -> None:
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="a.jsonl", Body=jsonl(item("a"), item("boom")))

    with pytest.raises(Exception, match=r"1 of 1 input files failed.*predict raised RuntimeError"):
        run(handler_for("exc_on_name", buckets.environ), s3_put(buckets.inputs, "a.jsonl"))
    assert keys(events_aws.s3, buckets.outputs) == []


def test_non_finite_prediction_fails_the_file_instead_of_writing_null(
    events_aws: EventsAws, buckets: Buckets
) -> None:
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="a.jsonl", Body=jsonl(item("a")))

    with pytest.raises(Exception, match=r"1 of 1 input files failed.*non-finite number at doubled"):
        run(handler_for("non_finite_output", buckets.environ), s3_put(buckets.inputs, "a.jsonl"))
    assert not [key for key in keys(events_aws.s3, buckets.outputs) if key.endswith(".manifest.json")]


def test_too_little_remaining_time_fails_early_saying_how_far_it_got(
    events_aws: EventsAws, buckets: Buckets
) -> None:
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="a.jsonl", Body=jsonl(item("a")))

    with pytest.raises(
        Exception, match=r"after 0 records \(0 of 1 bytes read\).*timeout.*S3 Batch Operations"
    ):
        run(
            handler_for("echo", buckets.environ),
            s3_put(buckets.inputs, "a.jsonl"),
            LambdaContext(remaining_ms=1500),
        )
    assert keys(events_aws.s3, buckets.outputs) == []


def test_missing_output_uri_raises_naming_it(events_aws: EventsAws, buckets: Buckets) -> None:
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="a.jsonl", Body=jsonl(item("a")))

    with pytest.raises(Exception, match="set OUTPUT_URI to an s3://bucket/prefix/"):
        run(handler_for("echo", {}), s3_put(buckets.inputs, "a.jsonl"))


def test_s3_test_event_through_sqs_is_acknowledged(events_aws: EventsAws, buckets: Buckets) -> None:
    answer = run(handler_for("echo", buckets.environ), sqs_batch([s3_test_event(buckets.inputs)]))

    assert answer == {"batchItemFailures": []}
    assert keys(events_aws.s3, buckets.outputs) == []


def test_failed_file_behind_sqs_is_reported_for_retry(events_aws: EventsAws, buckets: Buckets) -> None:
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="ok.jsonl", Body=jsonl(item("a")))
    event = sqs_batch([s3_put(buckets.inputs, "ok.jsonl"), s3_put(buckets.inputs, "gone.jsonl")])

    answer = run(handler_for("echo", buckets.environ), event)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
    assert keys(events_aws.s3, buckets.outputs) == ["results/ok.jsonl.manifest.json", "results/ok.jsonl.out"]


def test_records_follow_the_http_number_rules_strict_json_and_finite(
    events_aws: EventsAws, buckets: Buckets
) -> None:
    jsonl_body = (
        b'{"x": 1.5, "name": "a"}\n{"x": true, "name": "b"}\n{"x": "2", "name": "c"}\n'
        b'{"x": Infinity, "name": "d"}\n{"x": 1e400, "name": "e"}\n'
    )
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="n.jsonl", Body=jsonl_body)
    # CSV cells are text: "2" is a number there, "inf" still is not finite.
    events_aws.s3.put_object(Bucket=buckets.inputs, Key="n.csv", Body=b"name,x\nf,inf\ng,2\n")
    handler = handler_for("echo", buckets.environ)

    run(handler, s3_put(buckets.inputs, "n.jsonl"))
    run(handler, s3_put(buckets.inputs, "n.csv"))

    jsonl_lines = read_lines(events_aws.s3, buckets.outputs, "results/n.jsonl.out")
    csv_lines = read_lines(events_aws.s3, buckets.outputs, "results/n.csv.out")
    assert [line["prediction"]["name"] for line in (jsonl_lines[0], csv_lines[1])] == ["a", "g"]
    refused = [*jsonl_lines[1:], csv_lines[0]]
    assert [line["problem"]["status"] for line in refused] == [422] * 5
    assert [line["problem"]["errors"][0]["loc"] for line in refused] == [
        ["instances", 1, "x"],
        ["instances", 2, "x"],
        ["instances", 3, "x"],
        ["instances", 4, "x"],
        ["instances", 0, "x"],
    ]
