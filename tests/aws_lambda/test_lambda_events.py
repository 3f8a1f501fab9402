"""The iris Lambda handler answers every HTTP event shape AWS sends, and direct invocation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.aws_events import sample_events as event_source_samples
from support.fresh_python import run_cli
from support.lambda_events import (
    SAMPLES,
    SETOSA,
    SHAPES,
    VIRGINICA,
    LambdaContext,
    http_event,
    predict_event,
    response_headers,
    response_json,
    sample_events,
)
from support.paths import REPO

from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler

IRIS = REPO / "functions" / "iris"
INPUT_FIELDS = {"sepal_length", "sepal_width", "petal_length", "petal_width"}

# What `predictor invoke functions/iris events/<file>` answers for each sample.
SAMPLE_STATUS = {
    "http-api-v2-predict.json": 200,
    "http-api-v2-predict-base64.json": 200,
    "http-api-v2-predict-invalid.json": 422,
    "http-api-v2-predict-malformed.json": 400,
    "http-api-v2-health.json": 200,
    "http-api-v1-predict.json": 200,
    "rest-api-predict.json": 200,
    "alb-predict.json": 200,
    "alb-multi-value-predict.json": 200,
    "function-url-predict.json": 200,
}
DIRECT_INVOKE_SAMPLE = "direct-invoke.json"
BASE64 = pytest.mark.parametrize("b64", [False, True], ids=["text-body", "base64-body"])
EVERY_SHAPE = pytest.mark.parametrize("shape", SHAPES)


@pytest.fixture(scope="module")
def iris() -> LambdaHandler:
    return LambdaHandler.for_predictor(load_predictor_class(str(IRIS)))


def call(handler: LambdaHandler, event: dict[str, Any]) -> dict[str, Any]:
    return handler(event, LambdaContext())


@EVERY_SHAPE
@BASE64
def test_predict_returns_predictions_in_order_for_every_event_shape(
    iris: LambdaHandler, shape: str, b64: bool
) -> None:
    instances = [SETOSA, VIRGINICA, SETOSA, VIRGINICA, VIRGINICA]

    response = call(iris, predict_event(shape, {"instances": instances}, b64=b64))

    assert response["statusCode"] == 200
    assert response_headers(response)["content-type"] == "application/json"
    predictions = response_json(response)["predictions"]
    assert [p["label"] for p in predictions] == ["setosa", "virginica", "setosa", "virginica", "virginica"]
    assert predictions == iris({"instances": instances}, LambdaContext())["predictions"]
    for prediction in predictions:
        assert max(prediction["probabilities"], key=prediction["probabilities"].get) == prediction["label"]
        assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)


@EVERY_SHAPE
def test_health_is_ready_in_every_event_shape(iris: LambdaHandler, shape: str) -> None:
    response = call(iris, http_event(shape, "GET", "/health"))

    assert response["statusCode"] == 200
    assert response_json(response) == {"status": "ready"}


@EVERY_SHAPE
def test_metadata_lists_the_input_schema_in_every_event_shape(iris: LambdaHandler, shape: str) -> None:
    response = call(iris, http_event(shape, "GET", "/metadata"))

    assert response["statusCode"] == 200
    metadata = response_json(response)
    assert metadata["name"] == "Iris"
    assert set(metadata["inputs"]["properties"]) == INPUT_FIELDS
    assert set(metadata["outputs"]["properties"]) == {"label", "probabilities"}


@EVERY_SHAPE
def test_openapi_documents_the_request_envelope_with_an_example(iris: LambdaHandler, shape: str) -> None:
    response = call(iris, http_event(shape, "GET", "/openapi.json"))

    assert response["statusCode"] == 200
    spec = response_json(response)
    schemas = spec["components"]["schemas"]
    media = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    request_schema = schemas[media["schema"]["$ref"].rsplit("/", 1)[-1]]
    instance_ref = request_schema["properties"]["instances"]["items"]["$ref"]
    assert set(schemas[instance_ref.rsplit("/", 1)[-1]]["properties"]) == INPUT_FIELDS
    assert media["example"] == {"instances": [SETOSA]}


def test_docs_page_is_served_through_lambda(iris: LambdaHandler) -> None:
    response = call(iris, http_event("http-api-v2", "GET", "/docs"))

    assert response["statusCode"] == 200
    assert response_headers(response)["content-type"].startswith("text/html")
    assert "/openapi.json" in response["body"]


def test_direct_invocation_returns_predictions(iris: LambdaHandler) -> None:
    response = iris({"instances": [VIRGINICA, SETOSA]}, LambdaContext())

    assert list(response) == ["predictions"]
    assert [p["label"] for p in response["predictions"]] == ["virginica", "setosa"]


def test_every_sample_event_has_an_expected_answer() -> None:
    on_disk = {path.name for path in SAMPLES.glob("*.json")}

    assert on_disk == {*SAMPLE_STATUS, DIRECT_INVOKE_SAMPLE, *event_source_samples()}


def test_sample_events_are_what_the_builders_make() -> None:
    # events/ is written by `PYTHONPATH=tests python -m support.lambda_events`; a hand edit would
    # drift from the AWS shapes.
    for name, event in sample_events().items():
        assert json.loads((SAMPLES / name).read_text()) == event, f"regenerate events/{name}"


def invoke_cli(sample: str) -> Any:
    finished = run_cli("invoke", "functions/iris", f"events/{sample}")
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


@pytest.mark.parametrize("sample", sorted(SAMPLE_STATUS))
def test_sample_event_gets_its_status_through_the_cli(sample: str) -> None:
    response = invoke_cli(sample)

    assert response["statusCode"] == SAMPLE_STATUS[sample]
    body = response_json(response)
    if SAMPLE_STATUS[sample] == 200 and "predict" in sample:
        assert [p["label"] for p in body["predictions"]] == ["setosa", "virginica"]
    if sample == "http-api-v2-predict-invalid.json":
        assert [error["loc"] for error in body["errors"]] == [["instances", 0, "petal_width"]]


def test_direct_invoke_sample_gets_predictions_through_the_cli() -> None:
    response = invoke_cli(DIRECT_INVOKE_SAMPLE)

    assert [p["label"] for p in response["predictions"]] == ["setosa", "virginica"]
