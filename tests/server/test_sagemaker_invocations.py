"""SageMaker's /invocations, /ping and /execution-parameters on `predictor serve`, over a socket."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from support.paths import FIXTURES, REPO
from support.server_process import ServerProcess

IRIS = REPO / "functions" / "iris"
SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]
IRIS_FIELDS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def client_for(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, trust_env=False, timeout=10)


@pytest.fixture(scope="module")
def iris() -> Iterator[httpx.Client]:
    with ServerProcess(IRIS, {"SAGEMAKER_MAX_PAYLOAD_IN_MB": "0.01"}) as server, client_for(server) as client:
        yield client


@pytest.fixture(scope="module")
def echo() -> Iterator[httpx.Client]:
    with ServerProcess(FIXTURES / "echo.py") as server, client_for(server) as client:
        yield client


def labels(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["label"] for p in response.json()["predictions"]]


def test_ping_answers_200_once_setup_succeeded(iris: httpx.Client) -> None:
    response = iris.get("/ping")
    assert response.status_code == 200
    assert iris.head("/ping").status_code == 200


def test_json_envelope_is_answered_in_order(iris: httpx.Client) -> None:
    instances = [dict(zip(IRIS_FIELDS, row, strict=True)) for row in (SETOSA, VIRGINICA)]
    assert labels(iris.post("/invocations", json={"instances": instances})) == ["setosa", "virginica"]


def test_csv_rows_are_instances_in_field_order(iris: httpx.Client) -> None:
    body = "5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    response = iris.post("/invocations", content=body, headers={"content-type": "text/csv"})
    assert labels(response) == ["setosa", "virginica"]


def test_csv_header_row_names_columns_in_any_order(iris: httpx.Client) -> None:
    body = "petal_width,petal_length,sepal_width,sepal_length\n2.3,5.2,3.0,6.7\n0.2,1.4,3.5,5.1\n"
    response = iris.post("/invocations", content=body, headers={"content-type": "text/csv"})
    assert labels(response) == ["virginica", "setosa"]


def test_csv_cell_error_is_located_by_row_and_field(iris: httpx.Client) -> None:
    body = "5.1,3.5,1.4,0.2\n6.7,3.0,-5.2,2.3\n"
    response = iris.post("/invocations", content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["loc"] for error in response.json()["errors"]] == [["instances", 1, "petal_length"]]


@pytest.fixture(scope="module")
def vector() -> Iterator[httpx.Client]:
    with ServerProcess(FIXTURES / "vector.py") as server, client_for(server) as client:
        yield client


@pytest.mark.parametrize("cell", ["inf", "-Infinity", "nan", "1e400"])
def test_csv_and_npy_refuse_non_finite_numbers_located_by_cell(vector: httpx.Client, cell: str) -> None:
    csv_answer = vector.post(
        "/invocations", content=f"1,2,3\n4,{cell},6\n", headers={"content-type": "text/csv"}
    )
    buffer = io.BytesIO()
    np.save(buffer, np.array([[1.0, 2.0, 3.0], [4.0, float(cell), 6.0]]))
    npy_answer = vector.post(
        "/invocations", content=buffer.getvalue(), headers={"content-type": "application/x-npy"}
    )

    for answer in (csv_answer, npy_answer):
        assert answer.status_code == 422, answer.text
        assert [error["loc"] for error in answer.json()["errors"]] == [["instances", 1, "values", 1]]


def test_json_lines_are_validated_as_strictly_as_the_json_envelope(iris: httpx.Client) -> None:
    line = json.dumps(dict(zip(IRIS_FIELDS, [5.1, True, "1.4", 0.2], strict=True)))
    response = iris.post("/invocations", content=line, headers={"content-type": "application/jsonlines"})
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["errors"]] == [
        ["instances", 0, "sepal_width"],
        ["instances", 0, "petal_length"],
    ]


def test_csv_row_of_the_wrong_width_names_the_fields(iris: httpx.Client) -> None:
    response = iris.post("/invocations", content="5.1,3.5,1.4\n", headers={"content-type": "text/csv"})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "CSV row 1 has 3 values; expected 4, one per field in this order: "
        "sepal_length, sepal_width, petal_length, petal_width"
    )


def test_json_lines_are_one_instance_per_line(iris: httpx.Client) -> None:
    body = "\n".join(json.dumps(dict(zip(IRIS_FIELDS, row, strict=True))) for row in (VIRGINICA, SETOSA))
    response = iris.post("/invocations", content=body, headers={"content-type": "application/jsonlines"})
    assert labels(response) == ["virginica", "setosa"]


def test_a_broken_json_line_is_named(iris: httpx.Client) -> None:
    body = json.dumps(dict(zip(IRIS_FIELDS, SETOSA, strict=True))) + "\n{not json\n"
    response = iris.post("/invocations", content=body, headers={"content-type": "application/jsonlines"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON Lines line 2 is not valid JSON")


def test_npy_two_dimensional_array_rows_are_instances(iris: httpx.Client) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([SETOSA, VIRGINICA], dtype=np.float32))
    response = iris.post(
        "/invocations", content=buffer.getvalue(), headers={"content-type": "application/x-npy"}
    )
    assert labels(response) == ["setosa", "virginica"]


@pytest.mark.parametrize(
    ("array", "detail"),
    [
        (np.array(SETOSA), "The npy array has shape (4,); send a 2-D array, one row per instance"),
        (np.array([[1.0, 2.0]]), "npy row 1 has 2 values; expected 4"),
    ],
)
def test_npy_of_the_wrong_shape_is_refused(iris: httpx.Client, array: np.ndarray, detail: str) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array)
    response = iris.post(
        "/invocations", content=buffer.getvalue(), headers={"content-type": "application/x-npy"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


def test_npy_holding_pickled_objects_is_refused_without_unpickling(iris: httpx.Client) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([[object()]], dtype=object), allow_pickle=True)
    response = iris.post(
        "/invocations", content=buffer.getvalue(), headers={"content-type": "application/x-npy"}
    )
    assert response.status_code == 400
    assert "not a readable .npy array" in response.json()["detail"]


def test_unsupported_content_type_lists_the_decoded_types(iris: httpx.Client) -> None:
    response = iris.post("/invocations", content=b"<x/>", headers={"content-type": "application/xml"})
    assert response.status_code == 415
    detail = response.json()["detail"]
    for media_type in ("application/json", "text/csv", "application/jsonlines", "application/x-npy"):
        assert media_type in detail


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json; q=0.9, text/html"])
def test_json_answers_no_accept_wildcards_and_json(iris: httpx.Client, accept: str | None) -> None:
    headers = {"content-type": "text/csv", **({"accept": accept} if accept else {})}
    response = iris.post("/invocations", content="5.1,3.5,1.4,0.2\n", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_accept_json_lines_answers_one_prediction_per_line(iris: httpx.Client) -> None:
    response = iris.post(
        "/invocations",
        content="5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n",
        headers={"content-type": "text/csv", "accept": "application/jsonlines"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jsonlines"
    lines = response.text.splitlines()
    assert [json.loads(line)["label"] for line in lines] == ["setosa", "virginica"]


def test_accept_csv_for_non_scalar_outputs_is_406_listing_what_is_producible(iris: httpx.Client) -> None:
    response = iris.post(
        "/invocations",
        content="5.1,3.5,1.4,0.2\n",
        headers={"content-type": "text/csv", "accept": "text/csv"},
    )
    assert response.status_code == 406
    assert response.json()["detail"] == (
        "Cannot answer with Accept 'text/csv'; "
        "this predictor produces: application/json, application/jsonlines"
    )


def test_accept_csv_for_scalar_outputs_answers_rows_in_field_order(echo: httpx.Client) -> None:
    response = echo.post(
        "/invocations",
        json={"instances": [{"x": 1.5, "name": "a"}, {"x": 2, "name": "b,c"}]},
        headers={"accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv"
    assert response.text == 'a,3.0\n"b,c",4.0\n'


def test_accept_with_zero_quality_is_not_chosen(echo: httpx.Client) -> None:
    response = echo.post(
        "/invocations",
        json={"instances": [{"x": 1, "name": "a"}]},
        headers={"accept": "text/csv;q=0, application/jsonlines"},
    )
    assert response.headers["content-type"] == "application/jsonlines"


# Every answer type /invocations offers for a scalar output, as its 406 lists them.
ANSWER_TYPES = ["application/json", "application/jsonlines", "text/csv"]


@pytest.fixture(scope="module")
def named_number() -> Iterator[httpx.Client]:
    with ServerProcess(FIXTURES / "named_number.py") as server, client_for(server) as client:
        yield client


def test_every_answer_type_is_offered_for_a_scalar_output(named_number: httpx.Client) -> None:
    response = named_number.post(
        "/invocations", json={"instances": [{"x": 1, "name": "2.5"}]}, headers={"accept": "image/png"}
    )
    assert response.status_code == 406
    assert response.json()["detail"].endswith(f"this predictor produces: {', '.join(ANSWER_TYPES)}")
    for accept in ANSWER_TYPES:
        answered = named_number.post(
            "/invocations", json={"instances": [{"x": 1, "name": "2.5"}]}, headers={"accept": accept}
        )
        assert answered.status_code == 200, answered.text
        assert answered.headers["content-type"] == accept
        assert "2.5" in answered.text


@pytest.mark.parametrize("name", ["nan", "inf"])
@pytest.mark.parametrize("accept", ANSWER_TYPES)
def test_a_non_finite_prediction_is_a_500_with_a_request_id_in_every_answer_type(
    named_number: httpx.Client, accept: str, name: str
) -> None:
    response = named_number.post(
        "/invocations",
        json={"instances": [{"x": 1, "name": "1.5"}, {"x": 1, "name": name}]},
        headers={"accept": accept, "x-request-id": "req-42"},
    )

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == "req-42"
    for spelling in ("null", "nan", "inf"):
        assert spelling not in response.text.lower()


def test_body_over_sagemaker_max_payload_is_413_before_predict(iris: httpx.Client) -> None:
    body = "5.1,3.5,1.4,0.2\n" * 1000  # 16 kB over a 0.01 MB limit
    response = iris.post("/invocations", content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 413
    assert "SAGEMAKER_MAX_PAYLOAD_IN_MB" in response.json()["detail"]


def test_chunked_body_over_the_limit_is_413(iris: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"5.1,3.5,1.4,0.2\n" * 10

    response = iris.post("/invocations", content=chunks(), headers={"content-type": "text/csv"})
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The body is at least")


def test_execution_parameters_answer_batch_transform(iris: httpx.Client) -> None:
    response = iris.get("/execution-parameters")
    assert response.json() == {
        "MaxConcurrentTransforms": 1,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 1,
    }


def test_get_on_invocations_is_405(iris: httpx.Client) -> None:
    response = iris.get("/invocations")
    assert response.status_code == 405
    assert response.json()["detail"] == "GET is not allowed on /invocations"


def test_foundation_routes_still_answer_beside_sagemaker_routes(iris: httpx.Client) -> None:
    assert iris.get("/health").status_code == 200
    assert iris.get("/metadata").json()["name"] == "Iris"


def test_raw_content_type_goes_to_decode_raw(tmp_path: object) -> None:
    with ServerProcess(FIXTURES / "raw_body.py") as server, client_for(server) as client:
        response = client.post("/invocations", content="a,1\nb,2\n", headers={"content-type": "text/csv"})
    assert response.json() == {"predictions": [{"name": "a", "doubled": 2.0}, {"name": "b", "doubled": 4.0}]}


def test_single_list_field_takes_the_whole_npy_row() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([[1, 2, 3], [4, 5, 6]]))
    with ServerProcess(FIXTURES / "vector.py") as server, client_for(server) as client:
        response = client.post(
            "/invocations", content=buffer.getvalue(), headers={"content-type": "application/x-npy"}
        )
        csv_response = client.post("/invocations", content="1,1,1\n", headers={"content-type": "text/csv"})
    assert response.json() == {"predictions": [{"total": 6.0}, {"total": 15.0}]}
    assert csv_response.json() == {"predictions": [{"total": 3.0}]}


def test_ping_after_failed_setup_is_503_with_the_reason() -> None:
    with ServerProcess(FIXTURES / "exc_in_setup.py") as server, client_for(server) as client:
        ping = client.get("/ping")
        invocation = client.post("/invocations", json={"instances": [{"x": 1, "name": "a"}]})
    assert ping.status_code == 503
    assert ping.json()["detail"] == "Not ready: setup failed: FileNotFoundError: weights.bin is missing"
    assert invocation.status_code == 503
