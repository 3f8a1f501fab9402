"""Every bad input, in every HTTP event shape, gets its documented RFC 9457 answer from the Lambda handler."""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

import pytest
from support.lambda_events import (
    JSON_HEADERS,
    SHAPES,
    LambdaContext,
    http_event,
    predict_event,
    request_id_of,
    response_headers,
    response_json,
)
from support.paths import FIXTURES

from predictor import Limits
from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler, UnrecognisedEvent
from predictor.aws_lambda._settings import EventSettings
from predictor.aws_lambda.sources.http import BAD_BASE64
from predictor.runtime import Runtime

CONTEXT = LambdaContext()
LIMITS = Limits(max_body_bytes=256, max_instances=3)
EVERY_SHAPE = pytest.mark.parametrize("shape", SHAPES)


@cache
def fixture_handler(name: str) -> LambdaHandler:
    return LambdaHandler.for_predictor(load_predictor_class(str(FIXTURES / f"{name}.py")))


@cache
def limited_handler() -> LambdaHandler:
    runtime = Runtime(load_predictor_class(str(FIXTURES / "echo.py")), limits=LIMITS)
    runtime.start()
    return LambdaHandler(runtime, EventSettings.from_environ(runtime.environ))


def post(shape: str, body: str | None, *, content_type: str = "application/json") -> dict[str, Any]:
    return http_event(shape, "POST", "/predict", headers={"Content-Type": content_type}, body=body)


def problem(response: dict[str, Any], status: int) -> dict[str, Any]:
    """The problem document in an HTTP event response, after checking status and content type."""
    assert response["statusCode"] == status, response["body"]
    assert response_headers(response)["content-type"] == "application/problem+json"
    body: dict[str, Any] = response_json(response)
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    return body


@EVERY_SHAPE
@pytest.mark.parametrize(
    "body",
    ['{"instances": [{"x": 1, "name": "a"}', "instances=1", "", None],
    ids=["truncated", "form-encoded", "empty", "absent"],
)
def test_unparsable_json_body_gets_400_problem(shape: str, body: str | None) -> None:
    response = fixture_handler("echo")(post(shape, body), CONTEXT)

    assert "not valid JSON" in problem(response, 400)["detail"]


@EVERY_SHAPE
def test_text_plain_body_gets_415_problem(shape: str) -> None:
    event = post(shape, "x=1,name=a", content_type="text/plain")

    detail = problem(fixture_handler("echo")(event, CONTEXT), 415)["detail"]

    assert "'text/plain' is not supported" in detail
    assert "application/json" in detail


@EVERY_SHAPE
def test_body_over_the_byte_limit_gets_413_problem(shape: str) -> None:
    body = json.dumps({"instances": [{"x": 1, "name": "a" * LIMITS.max_body_bytes}]})

    detail = problem(limited_handler()(post(shape, body), CONTEXT), 413)["detail"]

    assert f"The body is {len(body)} bytes, over the limit of {LIMITS.max_body_bytes}" in detail


@EVERY_SHAPE
def test_body_exactly_at_the_byte_limit_is_accepted(shape: str) -> None:
    envelope = {"instances": [{"x": 1, "name": ""}]}
    envelope["instances"][0]["name"] = "a" * (LIMITS.max_body_bytes - len(json.dumps(envelope)))
    assert len(json.dumps(envelope)) == LIMITS.max_body_bytes

    response = limited_handler()(predict_event(shape, envelope), CONTEXT)

    assert response["statusCode"] == 200


@EVERY_SHAPE
def test_too_many_instances_gets_413_problem(shape: str) -> None:
    envelope = {"instances": [{"x": 1, "name": "a"}] * (LIMITS.max_instances + 1)}

    detail = problem(limited_handler()(predict_event(shape, envelope), CONTEXT), 413)["detail"]

    assert f"4 instances, over the limit of {LIMITS.max_instances}" in detail


@EVERY_SHAPE
def test_schema_violations_list_every_bad_field_of_every_instance_with_422(shape: str) -> None:
    instances: list[Any] = [
        {"x": 1, "name": "fine"},
        {"x": -1, "name": "negative"},
        {"name": 7},
        {"x": "big", "name": "not a number"},
        {"x": 0.5, "name": "fine"},
        {},
        "not an object",
    ]

    body = problem(fixture_handler("echo")(predict_event(shape, {"instances": instances}), CONTEXT), 422)

    assert [(error["loc"], error["type"]) for error in body["errors"]] == [
        (["instances", 1, "x"], "greater_than"),
        (["instances", 2, "x"], "missing"),
        (["instances", 2, "name"], "string_type"),
        (["instances", 3, "x"], "float_type"),
        (["instances", 5, "x"], "missing"),
        (["instances", 5, "name"], "missing"),
        (["instances", 6], "model_type"),
    ]
    assert body["errors"][0]["pointer"] == "#/instances/1/x"
    assert body["detail"] == "7 fields failed validation"


@EVERY_SHAPE
@pytest.mark.parametrize(
    ("envelope", "loc", "error_type"),
    [
        ({"instances": []}, ["instances"], "too_short"),
        ({"inputs": [{"x": 1, "name": "a"}]}, ["instances"], "missing"),
        ([{"x": 1, "name": "a"}], [], "model_type"),
    ],
    ids=["empty-instances", "no-instances-key", "bare-list"],
)
def test_envelope_without_instances_gets_422_problem(
    shape: str, envelope: Any, loc: list[Any], error_type: str
) -> None:
    body = problem(fixture_handler("echo")(predict_event(shape, envelope), CONTEXT), 422)

    assert [(error["loc"], error["type"]) for error in body["errors"]] == [(loc, error_type)]


@EVERY_SHAPE
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_route_gets_404_problem(shape: str, method: str) -> None:
    event = http_event(shape, method, "/predictions", headers=JSON_HEADERS, body="{}")

    detail = problem(fixture_handler("echo")(event, CONTEXT), 404)["detail"]

    assert detail.startswith("No route /predictions; the routes are POST /predict, GET /health")


@EVERY_SHAPE
def test_get_on_predict_gets_405_problem(shape: str) -> None:
    response = fixture_handler("echo")(http_event(shape, "GET", "/predict"), CONTEXT)

    assert problem(response, 405)["detail"] == "GET is not allowed on /predict"


@EVERY_SHAPE
def test_predictor_exception_gets_500_with_the_request_id_and_no_internals(shape: str) -> None:
    event = predict_event(shape, {"instances": [{"x": 1, "name": "a"}]})
    response = fixture_handler("exc_in_predict")(event, CONTEXT)

    body = problem(response, 500)
    assert body["request_id"] == request_id_of(event, CONTEXT)
    assert body["request_id"] == response_headers(response)["x-request-id"]
    assert body["request_id"] in body["detail"]
    for leak in ("Traceback", "RuntimeError", "secret internal state", "/srv/model", "exc_in_predict"):
        assert leak not in response["body"]


@EVERY_SHAPE
def test_predictor_error_reaches_the_caller_with_its_status_and_message(shape: str) -> None:
    response = fixture_handler("refuses")(
        predict_event(shape, {"instances": [{"x": 1, "name": "a"}]}), CONTEXT
    )

    body = problem(response, 429)
    assert body["detail"] == "quota exceeded for this model; retry in a minute"
    assert body["title"] == "Too Many Requests"


@EVERY_SHAPE
def test_setup_failure_gets_503_with_the_reason_on_predict_and_health(shape: str) -> None:
    handler = fixture_handler("exc_in_setup")
    reason = "setup failed: FileNotFoundError: weights.bin is missing"

    predict = problem(handler(predict_event(shape, {"instances": [{"x": 1, "name": "a"}]}), CONTEXT), 503)
    health = problem(handler(http_event(shape, "GET", "/health"), CONTEXT), 503)

    assert predict["detail"] == health["detail"] == f"Not ready: {reason}"


@EVERY_SHAPE
@pytest.mark.parametrize(
    ("fixture", "logged"),
    [
        ("wrong_length", "WrongLength.predict returned 1 predictions for 2 instances"),
        ("wrong_type", "WrongType.predict returned dict at position 0; expected Doubled"),
    ],
    ids=["wrong-length", "wrong-type"],
)
def test_predict_breaking_its_contract_gets_500_and_logs_what_broke(
    shape: str, fixture: str, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    envelope = {"instances": [{"x": 1, "name": "a"}, {"x": 2, "name": "b"}]}

    event = predict_event(shape, envelope)
    response = fixture_handler(fixture)(event, CONTEXT)

    assert problem(response, 500)["request_id"] == request_id_of(event, CONTEXT)
    assert logged not in response["body"]
    [record] = [r for r in caplog.records if r.getMessage() == "predictor broke its contract"]
    assert record.levelno == logging.ERROR
    assert getattr(record, "request_id", None) == request_id_of(event, CONTEXT)
    assert logged in caplog.text


@EVERY_SHAPE
@pytest.mark.parametrize("b64", [False, True], ids=["text-body", "base64-body"])
def test_raw_csv_body_is_decoded_by_the_predictor(shape: str, b64: bool) -> None:
    event = http_event(
        shape, "POST", "/predict", headers={"Content-Type": "text/csv"}, body="a,1\nb,2.5\n", b64=b64
    )

    response = fixture_handler("raw_body")(event, CONTEXT)

    assert response["statusCode"] == 200
    assert response_json(response) == {
        "predictions": [{"name": "a", "doubled": 2.0}, {"name": "b", "doubled": 5.0}]
    }


@EVERY_SHAPE
def test_unhealthy_predictor_reports_503_on_health(shape: str) -> None:
    response = fixture_handler("unhealthy")(http_event(shape, "GET", "/health"), CONTEXT)

    assert problem(response, 503)["detail"] == "Not ready: Unhealthy.health() returned False"


@EVERY_SHAPE
def test_preprocess_and_postprocess_hooks_are_applied(shape: str) -> None:
    envelope = {"instances": [{"x": 1.3, "name": "ada"}, {"x": 0.2, "name": "bo"}]}

    response = fixture_handler("hooks")(predict_event(shape, envelope), CONTEXT)

    assert response["statusCode"] == 200
    assert response_json(response) == {
        "predictions": [{"name": "ADA", "doubled": 3}, {"name": "BO", "doubled": 0}]
    }


@EVERY_SHAPE
@pytest.mark.parametrize(("method", "path"), [("POST", "/predict"), ("GET", "/health")])
def test_body_flagged_base64_but_not_base64_gets_400_problem(shape: str, method: str, path: str) -> None:
    event = http_event(shape, method, path, headers=JSON_HEADERS, body="{}", b64=True)
    event["body"] = "this is not base64!"

    assert problem(fixture_handler("echo")(event, CONTEXT), 400)["detail"] == BAD_BASE64


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({"foo": 1}, "keys ['foo']"),
        ({"requestContext": {"accountId": "123456789012"}}, "keys ['requestContext']"),
        ([], "a JSON list"),
        (None, "a JSON NoneType"),
        ("POST /predict", "a JSON str"),
    ],
    ids=["unknown-keys", "context-only", "list", "null", "string"],
)
def test_unrecognised_event_raises_naming_what_was_received(event: Any, named: str) -> None:
    # A returned value would be a success to Lambda: async events would never retry.
    with pytest.raises(UnrecognisedEvent, match="Unrecognised event") as raised:
        fixture_handler("echo")(event, CONTEXT)

    assert named in str(raised.value)


def test_direct_invocation_with_schema_violations_gets_422_problem_dict() -> None:
    response = fixture_handler("echo")({"instances": [{"x": 1, "name": "a"}, {"x": 0, "name": "b"}]}, CONTEXT)

    assert response["status"] == 422
    assert [error["loc"] for error in response["errors"]] == [["instances", 1, "x"]]
