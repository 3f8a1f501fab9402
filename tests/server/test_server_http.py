"""`predictor serve functions/iris` as a real process, called over a loopback socket."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.paths import REPO
from support.server_process import ServerProcess

IRIS = REPO / "functions" / "iris"
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
VERSICOLOR = {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 4.2, "petal_width": 1.5}
SPECIES = {"setosa", "versicolor", "virginica"}
INPUT_FIELDS = {"sepal_length", "sepal_width", "petal_length", "petal_width"}


@pytest.fixture(scope="module")
def iris() -> Iterator[httpx.Client]:
    with (
        ServerProcess(IRIS) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client,
    ):
        yield client


def test_predict_returns_one_prediction_per_instance_in_order(iris: httpx.Client) -> None:
    instances = [SETOSA, VIRGINICA, SETOSA, VERSICOLOR, VIRGINICA]

    response = iris.post("/predict", json={"instances": instances})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    predictions = response.json()["predictions"]
    assert len(predictions) == len(instances)
    labels = [p["label"] for p in predictions]
    assert labels[0] == labels[2] == "setosa"
    assert labels[1] == labels[4] == "virginica"
    assert labels[3] == "versicolor"
    for prediction in predictions:
        assert set(prediction["probabilities"]) == SPECIES
        assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert max(prediction["probabilities"], key=prediction["probabilities"].get) == prediction["label"]


def test_predict_accepts_json_with_a_charset_parameter(iris: httpx.Client) -> None:
    response = iris.post(
        "/predict",
        content=json.dumps({"instances": [VIRGINICA]}).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 200
    assert response.json()["predictions"][0]["label"] == "virginica"


def test_health_reports_ready(iris: httpx.Client) -> None:
    response = iris.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_metadata_names_the_predictor_and_its_schemas(iris: httpx.Client) -> None:
    response = iris.get("/metadata")

    assert response.status_code == 200
    metadata = response.json()
    assert metadata["name"] == "Iris"
    assert metadata["version"] == "1"
    assert set(metadata["inputs"]["properties"]) == INPUT_FIELDS
    assert set(metadata["inputs"]["required"]) == INPUT_FIELDS
    assert metadata["inputs"]["properties"]["petal_width"]["exclusiveMinimum"] == 0
    assert set(metadata["outputs"]["properties"]) == {"label", "probabilities"}
    assert set(metadata["outputs"]["properties"]["label"]["enum"]) == SPECIES


def test_docs_serves_swagger_ui_for_the_openapi_document(iris: httpx.Client) -> None:
    response = iris.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in response.text
    assert "/openapi.json" in response.text
    assert "<title>Iris - Swagger UI</title>" in response.text


def _resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/components/schemas/"), ref
    schema: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def test_openapi_describes_predict_with_the_predictors_own_fields(iris: httpx.Client) -> None:
    response = iris.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Iris"
    predict = document["paths"]["/predict"]["post"]
    body = predict["requestBody"]["content"]["application/json"]

    envelope = _resolve(document, body["schema"]["$ref"])
    assert envelope["required"] == ["instances"]
    instance = _resolve(document, envelope["properties"]["instances"]["items"]["$ref"])
    assert set(instance["properties"]) == INPUT_FIELDS

    assert body["example"] == {"instances": [SETOSA]}

    reply = predict["responses"]["200"]["content"]["application/json"]["schema"]
    prediction = _resolve(
        document, _resolve(document, reply["$ref"])["properties"]["predictions"]["items"]["$ref"]
    )
    assert set(prediction["properties"]) == {"label", "probabilities"}

    for status in ("400", "413", "415", "422", "500", "503"):
        assert "application/problem+json" in predict["responses"][status]["content"], status
    for path in ("/health", "/metadata"):
        assert "get" in document["paths"][path]


def test_serve_loads_artifacts_from_model_uri(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(IRIS / "model", model)
    # Reversed labels: a setosa flower now reads "virginica" only if this copy is the one served.
    (model / "labels.json").write_text(json.dumps(["virginica", "versicolor", "setosa"]))

    with (
        ServerProcess(IRIS, {"MODEL_URI": str(model)}) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client,
    ):
        response = client.post("/predict", json={"instances": [SETOSA, VIRGINICA]})

    assert response.status_code == 200
    assert [p["label"] for p in response.json()["predictions"]] == ["virginica", "setosa"]


def test_serve_with_model_uri_missing_reports_not_ready(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with (
        ServerProcess(IRIS, {"MODEL_URI": str(missing)}) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client,
    ):
        health = client.get("/health")
        predict = client.post("/predict", json={"instances": [SETOSA]})

    assert health.status_code == 503
    assert str(missing) in health.json()["detail"]
    assert predict.status_code == 503
    assert predict.headers["content-type"] == "application/problem+json"
