"""A fresh process with MODEL_URI=s3://... serves the iris function from the S3 copy of its model:
through the Lambda handler and through `predictor serve`; a missing model leaves it not ready, saying why.

The S3 copy lists the labels in reverse, so predictions prove which copy was loaded."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from support.fresh_python import python_json
from support.paths import REPO
from support.s3_server import MotoServer, clean_environ, put_objects
from support.server_process import ServerProcess

IRIS = REPO / "functions" / "iris"
PREDICT_EVENT = REPO / "events" / "http-api-v2-predict.json"  # a setosa, then a virginica
REVERSED_LABELS = ["virginica", "versicolor", "setosa"]
# What the model's class ids 0 and 2 mean once the labels are reversed.
LABELS_FROM_S3_COPY = ["virginica", "setosa"]

HANDLER_SCRIPT = """
import json, sys
sys.path.insert(0, "functions/iris")
import app
with open(sys.argv[1]) as event:
    print(json.dumps(app.handler(json.load(event), None)))
"""


@pytest.fixture
def iris_bucket(s3_server: MotoServer) -> str:
    bucket = s3_server.create_bucket()
    put_objects(
        s3_server.s3(),
        bucket,
        {
            "iris/model.onnx": (IRIS / "model" / "model.onnx").read_bytes(),
            "iris/labels.json": json.dumps(REVERSED_LABELS).encode(),
        },
    )
    return bucket


def function_env(server: MotoServer, model_uri: str, cache: Path) -> dict[str, str]:
    return clean_environ(**server.env, MODEL_URI=model_uri, PREDICTOR_CACHE_DIR=str(cache))


def run_handler(env: dict[str, str]) -> dict[str, Any]:
    response: dict[str, Any] = python_json(HANDLER_SCRIPT, str(PREDICT_EVENT), env=env, timeout=120)
    return response


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def predict_body() -> bytes:
    body: str = json.loads(PREDICT_EVENT.read_text())["body"]
    return body.encode()


def test_lambda_handler_in_a_fresh_process_predicts_with_the_model_from_s3(
    s3_server: MotoServer, iris_bucket: str, tmp_path: Path
) -> None:
    env = function_env(s3_server, f"s3://{iris_bucket}/iris/", tmp_path / "cache")

    response = run_handler(env)

    assert response["statusCode"] == 200, response
    predictions = json.loads(response["body"])["predictions"]
    assert [p["label"] for p in predictions] == LABELS_FROM_S3_COPY
    assert list((tmp_path / "cache").rglob("model.onnx"))


def test_lambda_handler_with_a_missing_model_answers_503_naming_the_uri_and_no_such_key(
    s3_server: MotoServer, iris_bucket: str, tmp_path: Path
) -> None:
    uri = f"s3://{iris_bucket}/iris/absent.onnx"

    response = run_handler(function_env(s3_server, uri, tmp_path / "cache"))

    assert response["statusCode"] == 503, response
    detail = json.loads(response["body"])["detail"]
    assert uri in detail
    assert "NoSuchKey" in detail


def test_served_function_predicts_over_a_socket_with_the_model_from_s3(
    s3_server: MotoServer, iris_bucket: str, tmp_path: Path
) -> None:
    env = function_env(s3_server, f"s3://{iris_bucket}/iris/", tmp_path / "cache")

    with ServerProcess(IRIS, env) as server:
        health = http("GET", f"{server.url}/health")
        status, answer = http("POST", f"{server.url}/predict", predict_body())

    assert health == (200, {"status": "ready"})
    assert status == 200, answer
    assert [p["label"] for p in answer["predictions"]] == LABELS_FROM_S3_COPY


def test_served_function_with_a_missing_model_is_not_ready_and_health_says_why(
    s3_server: MotoServer, iris_bucket: str, tmp_path: Path
) -> None:
    uri = f"s3://{iris_bucket}/iris/absent.onnx"

    with ServerProcess(IRIS, function_env(s3_server, uri, tmp_path / "cache")) as server:
        health_status, health = http("GET", f"{server.url}/health")
        predict_status, _ = http("POST", f"{server.url}/predict", predict_body())

    assert health_status == 503
    assert uri in health["detail"]
    assert "NoSuchKey" in health["detail"]
    assert predict_status == 503
