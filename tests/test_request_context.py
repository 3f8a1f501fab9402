"""`predict(batch, context)` sees the query, headers and custom attributes on every HTTP transport,
and its answer attributes come back as X-Amzn-SageMaker-Custom-Attributes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from mangum import Mangum
from starlette.responses import Response
from support.lambda_events import SHAPES, LambdaContext, http_event, response_headers
from support.paths import FIXTURES
from support.server_process import ServerProcess

from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler
from predictor.aws_lambda.sources.http import HttpEvent, event_context
from predictor.aws_lambda.sources.http import event_shape as shape_of
from predictor.runtime import Runtime
from predictor.server.request_context import context_from_scope

ATTRIBUTES = "trace=abc,shadow=1"
INSTANCES = {"instances": [{"x": 1, "name": "a"}, {"x": 2, "name": "b"}]}
HEADERS = {
    "Content-Type": "application/json",
    "X-Tenant": "acme",
    "X-Amzn-SageMaker-Custom-Attributes": ATTRIBUTES,
}
EXPECTED = [
    {"name": f"blue|acme|{ATTRIBUTES}", "doubled": 2.0},
    {"name": f"blue|acme|{ATTRIBUTES}", "doubled": 4.0},
]


def with_query(event: dict[str, Any], shape: str) -> dict[str, Any]:
    """?variant=blue in the fields each shape carries its query string in."""
    if shape in ("http-api-v2", "function-url"):
        event["rawQueryString"] = "variant=blue"
        event["queryStringParameters"] = {"variant": "blue"}
    elif shape == "alb-multi-value":
        event["multiValueQueryStringParameters"] = {"variant": ["blue"]}
    else:
        event["queryStringParameters"] = {"variant": "blue"}
        if shape != "alb":
            event["multiValueQueryStringParameters"] = {"variant": ["blue"]}
    return event


def test_server_invocations_pass_the_request_context_and_answer_attributes() -> None:
    with (
        ServerProcess(FIXTURES / "reads_context.py") as server,
        httpx.Client(base_url=server.url, trust_env=False) as client,
    ):
        invocation = client.post("/invocations?variant=blue", json=INSTANCES, headers=HEADERS)
        predict = client.post("/predict?variant=blue", json=INSTANCES, headers=HEADERS)
        bare = client.post("/invocations", json=INSTANCES)
    for response in (invocation, predict):
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": EXPECTED}
        assert response.headers["x-amzn-sagemaker-custom-attributes"] == "instances=2"
    assert bare.json()["predictions"][0]["name"] == "-|-|-"


@pytest.mark.parametrize("shape", SHAPES)
def test_lambda_fast_path_passes_the_request_context_like_the_mangum_path(shape: str) -> None:
    runtime = Runtime(load_predictor_class(str(FIXTURES / "reads_context.py")))
    runtime.start()
    source = HttpEvent(runtime)
    event = with_query(
        http_event(shape, "POST", "/predict", headers=HEADERS, body=json.dumps(INSTANCES)), shape
    )

    fast = source(json.loads(json.dumps(event)), LambdaContext())
    through_mangum = source.mangum(json.loads(json.dumps(event)), LambdaContext())

    assert fast["statusCode"] == through_mangum["statusCode"] == 200
    assert json.loads(fast["body"]) == json.loads(through_mangum["body"]) == {"predictions": EXPECTED}
    assert response_headers(fast)["x-amzn-sagemaker-custom-attributes"] == "instances=2"
    assert response_headers(through_mangum)["x-amzn-sagemaker-custom-attributes"] == "instances=2"


@pytest.mark.parametrize("shape", SHAPES)
def test_the_context_carries_api_gateways_request_id_else_lambdas_on_both_http_paths(shape: str) -> None:
    runtime = Runtime(load_predictor_class(str(FIXTURES / "names_request_id.py")))
    runtime.start()
    source = HttpEvent(runtime)
    event = http_event(shape, "POST", "/predict", headers=HEADERS, body=json.dumps(INSTANCES))
    # API Gateway and Function URLs name each request; ALB does not, so Lambda's id names it.
    expected = event["requestContext"].get("requestId") or LambdaContext.aws_request_id

    fast = source(json.loads(json.dumps(event)), LambdaContext())
    through_mangum = source.mangum(json.loads(json.dumps(event)), LambdaContext())

    for answer in (fast, through_mangum):
        names = {prediction["name"] for prediction in json.loads(answer["body"])["predictions"]}
        assert names == {expected}
        assert response_headers(answer)["x-request-id"] == expected


def test_direct_invoke_gives_a_context_without_http_parts() -> None:
    handler = LambdaHandler.for_predictor(load_predictor_class(str(FIXTURES / "reads_context.py")))
    answer = handler(INSTANCES, LambdaContext())
    assert answer["predictions"][0]["name"] == "-|-|-"


def test_only_a_predict_naming_context_is_given_one() -> None:
    assert Runtime(load_predictor_class(str(FIXTURES / "reads_context.py"))).wants_context
    assert not Runtime(load_predictor_class(str(FIXTURES / "echo.py"))).wants_context


def shape_with_repeats(shape: str) -> dict[str, Any]:
    """An event with a repeated header and a repeated, encoded query value, as each shape carries them."""
    headers = {"Content-Type": "application/json", "X-Tenant": "acme", "X-Multi": "one"}
    event = http_event(shape, "POST", "/predict", headers=headers, body=json.dumps(INSTANCES))
    if "multiValueHeaders" in event:
        multi = event["multiValueHeaders"]
        name = next(key for key in multi if key.lower() == "x-multi")
        multi[name] = ["one", "two"]
        multi["X-MULTI"] = ["three"]  # the same name spelled otherwise: folded in, never dropped
        multi["X-Pair"] = ["a", "b"]  # repeated, spelled once: joined as Starlette joins repeats
    if shape in ("http-api-v2", "function-url"):
        event["rawQueryString"] = "variant=blue&v=a%20b"
        event["queryStringParameters"] = {"variant": "blue", "v": "a b"}
    elif shape == "alb-multi-value":  # ALB passes the query on still percent-encoded
        event["multiValueQueryStringParameters"] = {"variant": ["red", "blue"], "v": ["a%20b"]}
    elif shape == "alb":
        event["queryStringParameters"] = {"variant": "blue", "v": "a%20b"}
    else:
        event["queryStringParameters"] = {"variant": "blue", "v": "a b"}
        event["multiValueQueryStringParameters"] = {"variant": ["red", "blue"], "v": ["a b"]}
    return event


@pytest.mark.parametrize("shape", SHAPES)
def test_fast_path_context_equals_the_context_of_the_scope_mangum_builds(shape: str) -> None:
    scopes: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await Response(b"")(scope, receive, send)

    event = shape_with_repeats(shape)
    Mangum(app, lifespan="off")(json.loads(json.dumps(event)), LambdaContext())

    fast = event_context(event, shape_of(event), "rid-1")
    through_mangum = context_from_scope(scopes[0], "rid-1")

    assert fast == through_mangum
    assert fast.request_id == "rid-1"
    assert fast.query_params == {"variant": "blue", "v": "a b"}
    assert fast.headers["x-tenant"] == "acme"
    assert fast.headers.get("x-pair") == ("a, b" if "multiValueHeaders" in event else None)
    assert fast.headers["x-multi"] == {
        "alb-multi-value": "one, two, three",  # Mangum passes each value on; they are joined
        "http-api-v1": "three",  # Mangum folds API Gateway's multiValueHeaders: the last spelling wins
        "rest-api": "three",
    }.get(shape, "one")
