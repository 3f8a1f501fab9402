"""`predict(batch, context)` sees the query, headers and custom attributes on every HTTP transport,
and its answer attributes come back as X-Amzn-SageMaker-Custom-Attributes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from lambda_events import SHAPES, LambdaContext, http_event, response_headers
from server_process import REPO, ServerProcess

from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler
from predictor.aws_lambda.http import HttpEvent
from predictor.runtime import Runtime

FIXTURES = REPO / "tests" / "fixtures" / "predictors"
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


def test_direct_invoke_gives_a_context_without_http_parts() -> None:
    handler = LambdaHandler.for_predictor(load_predictor_class(str(FIXTURES / "reads_context.py")))
    answer = handler(INSTANCES, LambdaContext())
    assert answer["predictions"][0]["name"] == "-|-|-"


def test_only_a_predict_naming_context_is_given_one() -> None:
    assert Runtime(load_predictor_class(str(FIXTURES / "reads_context.py"))).wants_context
    assert not Runtime(load_predictor_class(str(FIXTURES / "echo.py"))).wants_context
