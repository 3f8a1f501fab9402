"""A predictor's own counters, gauges and timers go out with the built-in metrics; its tags reach
HTTP callers in X-Predictor-Tags on every transport, and every path's log line."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from support.aws_events import sqs_batch
from support.emf import merged, metrics_of, parse, value
from support.event_sources import handler_for, item
from support.lambda_events import SHAPES, LambdaContext, predict_event, response_headers
from support.observed import emitted
from support.paths import FIXTURES
from support.s3_server import EventsAws
from support.server_process import ServerProcess

from predictor.context import RequestContext
from predictor.observability._emf import UNITS, EmfWriter

CONTEXT = LambdaContext()
TAGS = {"note": "Zoë", "variant": "b"}


def assert_own_metrics(metrics: list[Any], instances: int) -> None:
    assert value(metrics, "cache_misses") == [instances + 1]
    assert value(metrics, "queue_depth") == [7]
    assert value(metrics, "feature_lookup") == [2.5, 4.0]
    units = {m.name: m.unit for m in metrics}
    assert (units["cache_misses"], units["queue_depth"], units["feature_lookup"]) == (
        "Count",
        "Count",
        "Milliseconds",
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_lambda_http_answers_carry_the_tags_and_the_metrics_go_out(
    shape: str, caplog: pytest.LogCaptureFixture
) -> None:
    handler = handler_for("own_metrics", {})

    with emitted(handler.runtime, caplog) as out:
        response = handler(predict_event(shape, {"instances": [item("a"), item("b")]}), CONTEXT)

    header = response_headers(response)["x-predictor-tags"]
    assert header.isascii() and json.loads(header) == TAGS
    assert [p["name"] for p in json.loads(response["body"])["predictions"]] == [
        "a",
        "b",
    ]  # the body is unchanged
    assert_own_metrics(out.metrics, 2)
    assert out.request_line()["tags"] == TAGS


def test_server_answers_carry_the_tags_on_both_routes_and_the_metrics_reach_stdout() -> None:
    body = {"instances": [item("a")]}
    with ServerProcess(FIXTURES / "own_metrics.py") as server:
        answers = [
            httpx.post(server.url + path, json=body, headers={"x-request-id": f"own-{n}"}, timeout=10)
            for n, path in enumerate(("/predict", "/invocations"))
        ]
        server.close()
        output = server.output().splitlines()

    for answer in answers:
        assert json.loads(answer.headers["x-predictor-tags"]) == TAGS
    # The server gathers its requests' metrics; stopping writes what was gathered.
    metrics = merged(metrics_of(output))
    assert value(metrics, "cache_misses") == [2, 2]
    assert value(metrics, "queue_depth") == [7, 7]
    assert value(metrics, "feature_lookup") == [2.5, 4.0, 2.5, 4.0]
    for n in range(2):
        [line] = [
            line for line in output if f'"request_id":"own-{n}"' in line and '"message":"request"' in line
        ]
        assert json.loads(line)["tags"] == TAGS


def test_event_paths_give_predict_a_context_whose_metrics_and_tags_are_kept(
    events_aws: EventsAws, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = events_aws.server.create_bucket()
    handler = handler_for("own_metrics", {"OUTPUT_URI": f"s3://{bucket}/replies/"})

    with emitted(handler.runtime, caplog) as out:
        answer = handler(sqs_batch([item("a"), item("b"), item("c")]), CONTEXT)

    assert answer == {"batchItemFailures": []}
    assert_own_metrics(out.metrics, 3)
    assert out.request_line()["tags"] == TAGS


def test_a_metric_in_a_unit_cloudwatch_lacks_fails_the_request_naming_the_unit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = handler_for("bad_metric_unit", {})

    with emitted(handler.runtime, caplog) as out:
        response = handler(predict_event("http-api-v2", {"instances": [item("a")]}), CONTEXT)

    assert response["statusCode"] == 500
    [failure] = out.records("predict failed")
    assert "metric 'distance' has unit 'Parsecs'; use one of CloudWatch's: " in failure["exception"]
    assert value(out.metrics, "Errors", status="500") == [1]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (lambda c: c.counter("", 1), "metric name '' must be 1 to 255 printable ASCII characters"),
        (lambda c: c.counter("x" * 256, 1), "must be 1 to 255 printable ASCII characters"),
        (lambda c: c.gauge("naïve", 1), "metric name 'naïve' must be 1 to 255 printable ASCII characters"),
        (lambda c: c.gauge("load", float("nan")), "metric 'load' has value nan; give a finite number"),
        (lambda c: c.gauge("load", True), "metric 'load' has value True; give a finite number"),
        (lambda c: c.counter("Latency"), "metric name 'Latency' is a built-in metric's; choose another name"),
        (
            lambda c: (c.counter("hits"), c.gauge("hits", 2)),
            "metric 'hits' was recorded as a counter in Count; record it the same way, not as a gauge",
        ),
        (lambda c: c.tag("bad key", "v"), "tag key 'bad key' must be 1 to 64 letters, digits, or _ . : -"),
        (lambda c: c.tag("k", "v" * 257), "tag 'k' must have a string value of at most 256 characters"),
        (
            lambda c: [c.tag(f"k{n}", "v") for n in range(33)],
            "at most 32 tags an answer; 'k32' is one too many",
        ),
    ],
    ids=[
        "empty-name",
        "long-name",
        "non-ascii-name",
        "nan",
        "bool",
        "built-in-name",
        "kind-changed",
        "tag-key",
        "tag-value",
        "too-many-tags",
    ],
)
def test_what_cloudwatch_or_a_header_would_refuse_is_refused_when_recorded(record: Any, message: str) -> None:
    context = RequestContext("r")

    with pytest.raises(ValueError) as raised:
        record(context)

    assert message in str(raised.value)


def test_the_units_accepted_are_cloudwatchs_as_powertools_lists_them() -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    assert {unit.value for unit in MetricUnit} == UNITS


def test_a_line_holds_at_most_100_metrics_and_a_metric_at_most_100_values() -> None:
    writer = EmfWriter("Shop", {"service": "s", "model": "m"})
    metrics = {f"m{n}": ("Count", [float(n)]) for n in range(150)}
    metrics["timer"] = ("Milliseconds", [float(n) for n in range(250)])

    lines = list(writer.lines(metrics, {"request_id": "r"}, error_status=503))

    parsed = [parse(line) for line in lines]
    assert [len(found) for found in parsed] == [100, 52]
    everything = {m.name: m for found in parsed for m in found}
    assert set(everything) == {*metrics, "Errors"}
    assert everything["Errors"].dimensions == {"service": "s", "model": "m", "status": "503"}
    timer = everything["timer"].values
    assert len(timer) == 100 and (timer[0], timer[-1]) == (0.0, 249.0)


def test_event_paths_give_predict_a_context_with_observability_off_too(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    handler = handler_for(
        "own_metrics", {"OUTPUT_URI": f"s3://{bucket}/replies/", "PREDICTOR_OBSERVABILITY": "off"}
    )

    answer = handler(sqs_batch([item("a")]), CONTEXT)

    assert answer == {"batchItemFailures": []}  # own_metrics fails without its context
