"""An HTTP request on Lambda leaves one JSON log line and one EMF line, named by API Gateway's id."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from support.emf import value
from support.event_sources import handler_for, item
from support.lambda_events import LambdaContext, http_event, predict_event, response_headers
from support.observed import emitted

CONTEXT = LambdaContext()
SHOP = {"POWERTOOLS_METRICS_NAMESPACE": "Shop/Predictions", "POWERTOOLS_SERVICE_NAME": "shop"}
CANARY = "canary-5f3a9e-payload"


def named(event: dict[str, Any], request_id: str) -> dict[str, Any]:
    event["requestContext"]["requestId"] = request_id
    return event


def test_a_predict_request_writes_one_log_line_and_one_emf_line_with_its_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = handler_for("echo", SHOP)
    event = named(predict_event("http-api-v2", {"instances": [item("a"), item("b")]}), "req-http-1")

    with emitted(handler.runtime, caplog) as out:
        response = handler(event, CONTEXT)

    assert response["statusCode"] == 200
    assert len(out.emf) == 1
    metrics = out.metrics
    assert {m.namespace for m in metrics} == {"Shop/Predictions"}
    assert {json.dumps(m.dimensions, sort_keys=True) for m in metrics} == {
        '{"model": "Echo", "service": "shop"}'
    }
    assert value(metrics, "Requests") == [1]
    assert value(metrics, "Instances") == [2]
    assert value(metrics, "InvalidInstances") == [0]
    assert value(metrics, "BatchSize") == [2]
    assert value(metrics, "ColdStart") == [1]
    assert value(metrics, "Latency")[0] >= value(metrics, "PredictLatency")[0] > 0
    assert {m.unit for m in metrics if m.name in ("Latency", "PredictLatency")} == {"Milliseconds"}
    assert value(metrics, "SetupSeconds")[0] >= 0
    assert "Errors" not in {m.name for m in metrics}
    line = out.request_line()
    assert line["level"] == "INFO"
    assert line["service"] == "shop"
    assert (line["model"], line["model_version"]) == ("Echo", "0")
    assert line["request_id"] == "req-http-1"
    assert line["function_request_id"] == CONTEXT.aws_request_id
    assert (line["source"], line["status"], line["cold_start"]) == ("http", 200, True)
    assert (line["instances"], line["invalid_instances"], line["batches"]) == (2, 0, 1)
    assert line["latency_ms"] > 0


def test_the_answer_names_the_request_and_the_model_version(caplog: pytest.LogCaptureFixture) -> None:
    handler = handler_for("own_metrics", {})
    for shape in ("http-api-v2", "http-api-v1", "rest-api", "function-url", "alb"):
        event = predict_event(shape, {"instances": [item("a")]})

        headers = response_headers(handler(event, CONTEXT))

        expected = event["requestContext"].get("requestId") or CONTEXT.aws_request_id
        assert (headers["x-request-id"], headers["x-model-version"]) == (expected, "3.1"), shape


def test_routes_through_mangum_carry_the_same_headers_and_are_observed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = handler_for("echo", {})
    handler(predict_event("http-api-v2", {"instances": [item("warm")]}), CONTEXT)

    with emitted(handler.runtime, caplog) as out:
        health = handler(named(http_event("http-api-v2", "GET", "/health"), "req-health"), CONTEXT)
        missing = handler(named(http_event("http-api-v2", "GET", "/nowhere"), "req-404"), CONTEXT)

    assert response_headers(health)["x-request-id"] == "req-health"
    assert response_headers(missing)["x-request-id"] == "req-404"
    assert response_headers(missing)["x-model-version"] == "0"
    lines = out.records("request")
    assert [(r["request_id"], r["status"], r["cold_start"]) for r in lines] == [
        ("req-health", 200, False),
        ("req-404", 404, False),
    ]
    assert value(out.metrics, "Errors", status="404") == [1]
    assert "ColdStart" not in {m.name for m in out.metrics}


def test_invalid_instances_are_counted_and_the_error_is_counted_under_its_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = handler_for("echo", {})
    # Two instances of three fail, the last on two fields: two invalid instances, three errors.
    envelope = {"instances": [item("a"), {"x": -1, "name": "b"}, {"x": "no"}]}

    with emitted(handler.runtime, caplog) as out:
        response = handler(predict_event("http-api-v2", envelope), CONTEXT)

    assert response["statusCode"] == 422
    assert len(json.loads(response["body"])["errors"]) == 3
    assert value(out.metrics, "InvalidInstances") == [2]
    assert value(out.metrics, "Errors", status="422") == [1]
    assert (out.request_line()["status"], out.request_line()["invalid_instances"]) == (422, 2)


def test_a_predictor_failure_is_a_500_error_with_its_instances_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = handler_for("exc_in_predict", {})
    event = named(predict_event("rest-api", {"instances": [item("a")]}), "req-boom")

    with emitted(handler.runtime, caplog) as out:
        response = handler(event, CONTEXT)

    assert response["statusCode"] == 500
    assert value(out.metrics, "Errors", status="500") == [1]
    assert value(out.metrics, "Instances") == [1]
    [failure] = out.records("predict failed")
    assert failure["request_id"] == out.request_line()["request_id"] == "req-boom"


def test_no_payload_reaches_a_log_line_by_default(caplog: pytest.LogCaptureFixture) -> None:
    handler = handler_for("echo", {})
    bodies = [
        {"instances": [item(CANARY)]},
        {"instances": [{"x": -1, "name": CANARY}]},
        {"instances": [{"x": CANARY, "name": CANARY}]},
    ]

    with emitted(handler.runtime, caplog) as out:
        answers = [handler(predict_event("http-api-v2", body), CONTEXT) for body in bodies]
        answers.append(handler({"instances": [item(CANARY)]}, CONTEXT))

    assert CANARY in answers[0]["body"]  # the caller gets it back...
    assert len(out.records("request")) == 4
    for line in out.lines:  # ...but no log line nor metric holds it
        assert CANARY not in line
    assert CANARY not in caplog.text


def test_a_sampled_request_logs_its_payload_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    handler = handler_for("echo", {"PREDICTOR_LOG_PAYLOAD_SAMPLE_RATE": "1"})

    with emitted(handler.runtime, caplog) as out:
        handler(predict_event("http-api-v2", {"instances": [item(CANARY)]}), CONTEXT)

    assert CANARY in out.request_line()["payload"]


def test_with_observability_off_no_line_and_no_metric_are_written_but_the_headers_are(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = handler_for("echo", {"PREDICTOR_OBSERVABILITY": "off"})
    caplog.set_level(logging.DEBUG)

    response = handler(named(predict_event("http-api-v2", {"instances": [item("a")]}), "req-off"), CONTEXT)

    assert handler.runtime.observer is None
    assert response_headers(response)["x-request-id"] == "req-off"
    assert [r for r in caplog.records if r.getMessage() == "request"] == []
    assert '"_aws"' not in capsys.readouterr().out


def test_a_direct_invocation_is_named_by_lambdas_request_id(caplog: pytest.LogCaptureFixture) -> None:
    handler = handler_for("echo", {})

    with emitted(handler.runtime, caplog) as out:
        handler({"instances": [item("a"), {"x": 0, "name": "b"}]}, CONTEXT)

    line = out.request_line()
    assert (line["source"], line["request_id"], line["status"], line["invalid_instances"]) == (
        "direct",
        CONTEXT.aws_request_id,
        422,
        1,
    )


@pytest.mark.parametrize(
    "sent", ["has spaces", "x" * 129, "new\nline", ""], ids=["spaces", "too-long", "newline", "empty"]
)
def test_an_unacceptable_client_request_id_is_replaced(sent: str, caplog: pytest.LogCaptureFixture) -> None:
    # ALB gives no id of its own, so a client's X-Request-Id would name the request: only a sane one.
    handler = handler_for("echo", {})
    event = predict_event("alb", {"instances": [item("a")]})
    event["headers"]["x-request-id"] = sent

    headers = response_headers(handler(event, CONTEXT))

    assert headers["x-request-id"] == CONTEXT.aws_request_id


def test_a_sane_client_request_id_names_an_alb_request(caplog: pytest.LogCaptureFixture) -> None:
    handler = handler_for("echo", {})
    event = predict_event("alb", {"instances": [item("a")]})
    event["headers"]["X-Request-Id"] = "client-42.a:b"

    assert response_headers(handler(event, CONTEXT))["x-request-id"] == "client-42.a:b"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"LOG_LEVEL": "loud"},
            "LOG_LEVEL='loud' is not a log level; use one of DEBUG, INFO, WARNING, ERROR",
        ),
        ({"PREDICTOR_OBSERVABILITY": "maybe"}, "PREDICTOR_OBSERVABILITY='maybe' is neither on nor off"),
        (
            {"PREDICTOR_LOG_PAYLOAD_SAMPLE_RATE": "5"},
            "PREDICTOR_LOG_PAYLOAD_SAMPLE_RATE='5' must be between 0 and 1",
        ),
    ],
    ids=["log-level", "switch", "sample-rate"],
)
def test_a_setting_out_of_range_fails_at_init_naming_the_variable(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        handler_for("echo", environ)

    assert message in str(raised.value)
