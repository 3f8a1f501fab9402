"""predictor.testing.PredictorClient answers what the deployed handler answers, for every way AWS calls it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.paths import FIXTURES, REPO
from support.s3_server import EventsAws

from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler, UnrecognisedEvent
from predictor.testing import LambdaContext, PredictorClient, events, schema_examples

IRIS = REPO / "functions" / "iris"
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


@pytest.fixture(scope="module")
def iris() -> PredictorClient:
    return PredictorClient(IRIS)


@pytest.mark.parametrize("shape", events.SHAPES)
def test_each_http_shape_answers_exactly_what_the_handler_answers_to_that_event(
    iris: PredictorClient, shape: str
) -> None:
    response = iris.predict([SETOSA], shape=shape)
    event = events.predict_event(shape, {"instances": [SETOSA]})
    assert response.raw == iris.handler(event, LambdaContext())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["predictions"][0]["label"] == "setosa"


def test_a_schema_violation_comes_back_as_problem_json_with_the_field_located(iris: PredictorClient) -> None:
    response = iris.predict([{**SETOSA, "petal_width": -1}], shape="rest-api")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["instances", 0, "petal_width"]


def test_a_base64_request_and_the_get_routes_are_decoded(iris: PredictorClient) -> None:
    body = json.dumps({"instances": [SETOSA]})
    sent = iris.post("/predict", content=body, headers={"content-type": "application/json"}, b64=True)
    assert sent.json() == iris.predict([SETOSA]).json()
    assert iris.get("/health").json() == {"status": "ready"}
    assert iris.get("/metadata", shape="alb").json()["name"] == "Iris"
    assert iris.get("/openapi.json", shape="function-url").json()["paths"]["/predict"]


def test_a_direct_invocation_answers_the_envelope_and_an_unknown_event_raises(iris: PredictorClient) -> None:
    assert iris.invoke_direct([SETOSA]) == {"predictions": iris.predict([SETOSA]).json()["predictions"]}
    with pytest.raises(UnrecognisedEvent):
        iris.invoke({"neither": "http nor sqs"})


def test_the_examples_are_the_input_schemas_and_the_client_reuses_the_apps_own_handler() -> None:
    module_handler: Any = LambdaHandler.for_predictor(load_predictor_class(str(FIXTURES / "echo.py")))
    client = PredictorClient(module_handler)
    assert client.handler is module_handler
    assert PredictorClient(IRIS).examples == [SETOSA] == schema_examples(load_predictor_class(str(IRIS)))
    assert client.examples == []


def test_an_unknown_shape_is_refused_naming_the_shapes() -> None:
    with pytest.raises(ValueError, match="choose one of http-api-v2, http-api-v1"):
        PredictorClient(IRIS, shape="websocket")


def test_an_sqs_batch_reports_the_failed_messages_and_reads_back_each_reply(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    client = PredictorClient(FIXTURES / "echo.py", output_uri=f"s3://{bucket}/replies/")
    result = client.sqs([{"x": 1.5, "name": "a"}, {"x": -1, "name": "b"}, "not json"])
    assert result.failed == []  # every message is answered: predictions or a problem, none lost
    assert result.replies["msg-0"]["predictions"] == [{"name": "a", "doubled": 3.0}]
    assert result.replies["msg-1"]["problem"]["status"] == 422
    assert result.replies["msg-2"]["problem"]["status"] == 400


def test_without_an_output_every_sqs_message_is_reported_failed_as_on_lambda() -> None:
    result = PredictorClient(FIXTURES / "echo.py").sqs([{"x": 1.5, "name": "a"}])
    assert result.failed == ["msg-0"]
    assert result.replies == {}


def test_an_s3_file_comes_back_as_its_output_lines_and_manifest(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    client = PredictorClient(FIXTURES / "echo.py", output_uri=f"s3://{bucket}/results/")
    body = b'{"x": 2, "name": "a"}\n{"x": -2, "name": "b"}\n'
    result = client.s3_file(bucket, "input/items.jsonl", body)
    assert result.output_key == "results/input/items.jsonl.out"
    assert result.lines[0] == {"prediction": {"name": "a", "doubled": 4.0}}
    assert result.lines[1]["problem"]["status"] == 422
    assert result.manifest["records"] == 2


def test_an_s3_file_without_an_s3_output_says_how_to_give_one() -> None:
    with pytest.raises(ValueError, match=r"output_uri='s3://bucket/results/'"):
        PredictorClient(FIXTURES / "echo.py").s3_file("bucket", "input/x.jsonl")
