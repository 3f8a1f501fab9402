"""Failures Lambda must see, and HTTP events that must always get an HTTP answer.

On Lambda a failed setup fails the init and a 5xx from a direct invocation raises, so Lambda
counts the error and retries; every HTTP-shaped event, however half-formed, gets a response
with a statusCode (a bare dict becomes a 502 at API Gateway).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from support.lambda_events import JSON_HEADERS, SETOSA, SHAPES, LambdaContext, http_event, response_headers
from support.paths import FIXTURES, REPO

from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler
from predictor.aws_lambda.sources.http import BAD_BASE64, HttpEvent
from predictor.problems import ProblemError

CONTEXT = LambdaContext()
ITEM = {"x": 1.5, "name": "a"}
GOOD = json.dumps({"instances": [SETOSA]})
APP = """\
import sys
sys.path.insert(0, {fixtures!r})
from exc_in_setup import ExcInSetup
from predictor import lambda_handler

handler = lambda_handler(ExcInSetup)
print("initialised")
"""


@cache
def handler_for(name: str) -> LambdaHandler:
    if name == "iris":
        return LambdaHandler.for_predictor(load_predictor_class(str(REPO / "functions" / "iris")))
    return LambdaHandler.for_predictor(load_predictor_class(str(FIXTURES / f"{name}.py")))


def import_app(tmp_path: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import a function's app.py in a fresh interpreter, as Lambda's init does."""
    (tmp_path / "app.py").write_text(APP.format(fixtures=str(FIXTURES)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA_")}
    return subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(tmp_path), **extra_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("variable", ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_RUNTIME_API"])
def test_failed_setup_on_lambda_fails_the_init_with_the_reason_logged(tmp_path: Path, variable: str) -> None:
    finished = import_app(tmp_path, {variable: "iris-fn"})

    assert finished.returncode == 1
    last_line = finished.stderr.strip().splitlines()[-1]
    assert last_line == (
        "predictor.aws_lambda._handler.SetupFailed: ExcInSetup is not ready: "
        "setup failed: FileNotFoundError: weights.bin is missing"
    )
    logged = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    assert [record["message"] for record in logged] == ["predictor setup failed"]


def test_failed_setup_off_lambda_leaves_the_handler_up_answering_503(tmp_path: Path) -> None:
    finished = import_app(tmp_path, {})

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip().splitlines()[-1] == "initialised"


def test_direct_invocation_with_a_predictor_failure_raises_the_problem() -> None:
    with pytest.raises(ProblemError) as raised:
        handler_for("exc_in_predict")({"instances": [ITEM]}, CONTEXT)

    assert raised.value.problem.status == 500
    assert str(raised.value) == (
        f"The predictor failed on this request; search the logs for request id {CONTEXT.aws_request_id}"
    )


def test_direct_invocation_when_not_ready_raises_503() -> None:
    with pytest.raises(ProblemError) as raised:
        handler_for("exc_in_setup")({"instances": [ITEM]}, CONTEXT)

    assert raised.value.problem.status == 503


@pytest.mark.parametrize(("fixture", "status"), [("echo", 422), ("refuses", 429)])
def test_direct_invocation_with_a_client_error_answers_in_band(fixture: str, status: int) -> None:
    instance = {"x": -1, "name": "a"} if status == 422 else ITEM

    answer = handler_for(fixture)({"instances": [instance]}, CONTEXT)

    assert answer["status"] == status


def half_formed_events() -> dict[str, dict[str, Any]]:
    events: dict[str, dict[str, Any]] = {}
    for method, path, body in (("POST", "/predict", GOOD), ("GET", "/health", None)):
        v2 = http_event("http-api-v2", method, path, headers=JSON_HEADERS, body=body)
        v2["headers"] = None
        events[f"http-api-v2-null-headers-{method}"] = v2
        rest = http_event("rest-api", method, path, headers=JSON_HEADERS, body=body)
        rest["requestContext"]["identity"] = None
        events[f"rest-api-null-identity-{method}"] = rest
    for shape in SHAPES:
        event = http_event(shape, "POST", "/predict", headers=JSON_HEADERS, body=GOOD)
        event["body"] = {"instances": [SETOSA]}
        events[f"{shape}-object-body"] = event
    return events


HALF_FORMED = half_formed_events()


@pytest.mark.parametrize("name", list(HALF_FORMED))
def test_half_formed_http_events_still_get_an_http_response(name: str) -> None:
    response = handler_for("iris")(copy.deepcopy(HALF_FORMED[name]), CONTEXT)

    assert isinstance(response["statusCode"], int)
    assert response["isBase64Encoded"] is False
    if response["statusCode"] != 200:
        assert response["statusCode"] == 400
        assert response_headers(response)["content-type"] == "application/problem+json"
        assert json.loads(response["body"])["detail"].startswith("The HTTP event is malformed: ")


@pytest.mark.parametrize("shape", SHAPES)
def test_a_body_that_is_an_object_is_named_as_the_problem(shape: str) -> None:
    response = handler_for("iris")(copy.deepcopy(HALF_FORMED[f"{shape}-object-body"]), CONTEXT)

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["detail"] == (
        "The HTTP event is malformed: its body is a JSON dict, not the string API Gateway sends; "
        "send it as API Gateway, ALB or a Function URL does"
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_head_on_a_get_route_answers_like_get_without_a_body(shape: str) -> None:
    handler = handler_for("iris")

    head = handler(http_event(shape, "HEAD", "/health"), CONTEXT)
    get = handler(http_event(shape, "GET", "/health"), CONTEXT)

    assert head["statusCode"] == get["statusCode"] == 200
    assert head["body"] == ""
    assert response_headers(head)["content-length"] == response_headers(get)["content-length"]


@pytest.mark.parametrize("shape", SHAPES)
def test_predict_with_a_trailing_slash_answers_as_the_app_does_not_as_predict(shape: str) -> None:
    event = http_event(shape, "POST", "/predict/", headers=JSON_HEADERS, body=GOOD)
    handler = handler_for("iris")

    answer = handler(copy.deepcopy(event), CONTEXT)

    assert answer == HttpEvent(handler.runtime).mangum(copy.deepcopy(event), CONTEXT)
    assert answer["statusCode"] == 307


@pytest.mark.parametrize(
    "values",
    [("application/json", "text/plain"), ("text/plain", "application/json")],
    ids=["json-first", "text-first"],
)
@pytest.mark.parametrize("multi_value", [True, False], ids=["multi-value", "single-value"])
def test_alb_direct_path_takes_the_first_content_type_as_the_app_does(
    values: tuple[str, str], multi_value: bool
) -> None:
    # ALB passes repeated headers on in order (or, single-valued, under each spelling the
    # client used); the app reads the first one, and so must the direct path.
    shape = "alb-multi-value" if multi_value else "alb"
    event = http_event(shape, "POST", "/predict", body=GOOD)
    if multi_value:
        event["multiValueHeaders"]["content-type"] = list(values)
    else:
        event["headers"].update({"Content-Type": values[0], "content-type": values[1]})
    handler = handler_for("iris")

    direct = handler(copy.deepcopy(event), CONTEXT)

    assert direct == HttpEvent(handler.runtime).mangum(copy.deepcopy(event), CONTEXT)
    assert direct["statusCode"] == (200 if values[0] == "application/json" else 415)


def good_response_keys(shape: str) -> set[str]:
    event = http_event(shape, "POST", "/predict", headers=JSON_HEADERS, body=GOOD)
    return set(handler_for("iris")(event, CONTEXT))


@pytest.mark.parametrize("shape", SHAPES)
def test_malformed_and_badly_encoded_events_answer_in_their_shapes_response_form(shape: str) -> None:
    object_body = handler_for("iris")(copy.deepcopy(HALF_FORMED[f"{shape}-object-body"]), CONTEXT)
    bad_base64 = http_event(shape, "POST", "/predict", headers=JSON_HEADERS, body=GOOD)
    bad_base64.update(body="abc", isBase64Encoded=True)  # three characters: padding is missing
    encoding = handler_for("iris")(bad_base64, CONTEXT)

    assert set(object_body) == set(encoding) == good_response_keys(shape)
    assert json.loads(object_body["body"])["status"] == json.loads(encoding["body"])["status"] == 400
    assert json.loads(encoding["body"])["detail"] == BAD_BASE64


def test_an_event_missing_what_api_gateway_sends_is_told_so() -> None:
    response = handler_for("iris")(copy.deepcopy(HALF_FORMED["http-api-v2-null-headers-GET"]), CONTEXT)

    assert response["statusCode"] == 400
    problem = json.loads(response["body"])
    assert problem["status"] == 400
    assert problem["detail"] == (
        "The HTTP event is malformed: a field API Gateway always sends is missing or null; "
        "send it as API Gateway, ALB or a Function URL does"
    )


def test_a_failing_route_through_lambda_carries_api_gateways_request_id() -> None:
    event = http_event("http-api-v2", "GET", "/metadata")
    event["requestContext"]["requestId"] = "JKJaXmPLvHcESHA="
    response = handler_for("exc_in_metadata")(event, CONTEXT)

    assert response["statusCode"] == 500
    assert json.loads(response["body"])["request_id"] == "JKJaXmPLvHcESHA="
    assert response["headers"]["x-request-id"] == "JKJaXmPLvHcESHA="


def test_a_failing_route_on_alb_carries_the_invocation_request_id() -> None:
    response = handler_for("exc_in_metadata")(http_event("alb", "GET", "/metadata"), CONTEXT)

    assert response["statusCode"] == 500
    assert json.loads(response["body"])["request_id"] == CONTEXT.aws_request_id


@pytest.mark.parametrize("shape", ["rest-api", "http-api-v1"])
@pytest.mark.parametrize(
    "values", [["application/json", "text/plain"], ["application/json"]], ids=["repeated", "single"]
)
def test_multi_value_content_type_decides_on_the_direct_path_as_it_does_in_the_app(
    shape: str, values: list[str]
) -> None:
    # A client repeating Content-Type: API Gateway keeps the last in `headers` and all in
    # `multiValueHeaders`, which Mangum joins and puts last.
    event = http_event(shape, "POST", "/predict", body=GOOD)
    event["headers"]["Content-Type"] = "text/plain"
    event["multiValueHeaders"]["Content-Type"] = values
    handler = handler_for("iris")

    direct = handler(copy.deepcopy(event), CONTEXT)

    assert direct == HttpEvent(handler.runtime).mangum(copy.deepcopy(event), CONTEXT)
    assert direct["statusCode"] == (415 if len(values) > 1 else 200)
