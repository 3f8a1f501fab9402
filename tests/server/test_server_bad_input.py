"""Bad requests and failing predictors, over a socket to `predictor serve` and through the Lambda handler.

Every request is sent to both: the server and the Lambda handler must answer with the same
status, content type and body, so each case here also proves the two transports agree.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.both_transports import Targets, assert_problem, both, instances
from support.server_process import ServerProcess

LIMITED = {"PREDICTOR_MAX_BODY_BYTES": "300", "PREDICTOR_MAX_INSTANCES": "2"}
SECRET = "secret internal state at /srv/model"
ITEM = {"x": 1.5, "name": "a"}
SERVED = [
    "echo.py",
    "exc_in_predict.py",
    "wrong_length.py",
    "refuses.py",
    "exc_in_setup.py",
    "unhealthy.py",
    "raw_body.py",
]


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    pool = Targets(tmp_path_factory.mktemp("artifacts"))
    try:
        pool.boot([(name, {}) for name in SERVED] + [("echo.py", LIMITED)])
        yield pool
    finally:
        pool.close()


def log_records(server: ServerProcess) -> list[dict[str, Any]]:
    records = []
    for line in server.output().splitlines():
        if line.startswith("{") and not line.startswith('{"_aws"'):  # EMF metric lines left out
            records.append(json.loads(line))
    return records


def test_valid_request_gets_predictions_from_both_transports(targets: Targets) -> None:
    response = both(targets, "echo.py", "POST", "/predict", instances(ITEM, {"x": 2, "name": "b"}))

    assert response.status_code == 200
    assert response.json() == {"predictions": [{"name": "a", "doubled": 3.0}, {"name": "b", "doubled": 4.0}]}


def test_unparsable_json_body_gets_400_problem(targets: Targets) -> None:
    response = both(targets, "echo.py", "POST", "/predict", '{"instances": [')

    problem = assert_problem(response, 400)
    assert "not valid JSON" in problem["detail"]
    assert '{"instances": [ ... ]}' in problem["detail"]


def test_unsupported_content_type_gets_415_problem(targets: Targets) -> None:
    response = both(targets, "echo.py", "POST", "/predict", "x=1", content_type="text/plain")

    problem = assert_problem(response, 415)
    assert "'text/plain'" in problem["detail"]
    assert "application/json" in problem["detail"]


def test_body_over_the_byte_limit_gets_413_problem(targets: Targets) -> None:
    body = instances(*[{"x": 1, "name": "n" * 40}] * 8)
    assert len(body) > 300

    response = both(targets, "echo.py", "POST", "/predict", body, env=LIMITED)

    problem = assert_problem(response, 413)
    assert f"The body is {len(body)} bytes, over the limit of 300" in problem["detail"]


def test_too_many_instances_gets_413_problem(targets: Targets) -> None:
    response = both(targets, "echo.py", "POST", "/predict", instances(ITEM, ITEM, ITEM), env=LIMITED)

    problem = assert_problem(response, 413)
    assert "The request has 3 instances, over the limit of 2" in problem["detail"]


def test_instances_within_the_limits_are_served(targets: Targets) -> None:
    response = both(targets, "echo.py", "POST", "/predict", instances(ITEM, ITEM), env=LIMITED)

    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 2


def test_schema_violations_get_422_listing_every_bad_field_of_every_instance(targets: Targets) -> None:
    body = instances({"x": -1, "name": "neg"}, ITEM, {"x": "abc"}, {"x": 2, "name": ["list"]})

    response = both(targets, "echo.py", "POST", "/predict", body)

    problem = assert_problem(response, 422)
    located = {(tuple(error["loc"]), error["pointer"], error["type"]) for error in problem["errors"]}
    assert located == {
        (("instances", 0, "x"), "#/instances/0/x", "greater_than"),
        (("instances", 2, "x"), "#/instances/2/x", "float_type"),
        (("instances", 2, "name"), "#/instances/2/name", "missing"),
        (("instances", 3, "name"), "#/instances/3/name", "string_type"),
    }
    assert all(error["message"] for error in problem["errors"])
    assert problem["detail"] == "4 fields failed validation"


def test_empty_instances_get_422(targets: Targets) -> None:
    response = both(targets, "echo.py", "POST", "/predict", instances())

    problem = assert_problem(response, 422)
    assert [error["loc"] for error in problem["errors"]] == [["instances"]]
    assert problem["errors"][0]["pointer"] == "#/instances"


def test_body_without_instances_gets_422(targets: Targets) -> None:
    response = both(targets, "echo.py", "POST", "/predict", json.dumps({"inputs": [ITEM]}))

    problem = assert_problem(response, 422)
    assert ["instances"] in [error["loc"] for error in problem["errors"]]


def test_unknown_route_gets_404_listing_the_routes(targets: Targets) -> None:
    response = both(targets, "echo.py", "GET", "/nope", content_type=None)

    problem = assert_problem(response, 404)
    assert "/nope" in problem["detail"]
    assert "POST /predict" in problem["detail"]


def test_wrong_method_gets_405(targets: Targets) -> None:
    response = both(targets, "echo.py", "GET", "/predict", content_type=None)

    problem = assert_problem(response, 405)
    assert problem["detail"] == "GET is not allowed on /predict"
    assert response.headers["allow"] == "POST"


def test_predictor_exception_gets_500_with_request_id_and_no_internals(targets: Targets) -> None:
    response = both(
        targets, "exc_in_predict.py", "POST", "/predict", instances(ITEM), request_id="req-boom-1"
    )

    problem = assert_problem(response, 500)
    assert problem["request_id"] == "req-boom-1"
    assert "req-boom-1" in problem["detail"]
    for leak in (SECRET, "RuntimeError", "Traceback", "/srv/model", "exc_in_predict.py"):
        assert leak not in response.text


def test_predictor_exception_is_logged_with_traceback_under_its_request_id(targets: Targets) -> None:
    server = targets.server("exc_in_predict.py", {})
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        response = client.post(
            "/predict", content=instances(ITEM), headers={"content-type": "application/json"}
        )
    request_id = assert_problem(response, 500)["request_id"]
    assert request_id

    # The request's own line comes once the answer is sent: wait for it.
    for _ in range(100):
        named = [record for record in log_records(server) if record.get("request_id") == request_id]
        if any(record.get("message") == "request" for record in named):
            break
        time.sleep(0.02)
    records = [record for record in named if "exception" in record]

    assert len(records) == 1
    assert records[0]["level"] == "ERROR"
    assert [record["status"] for record in named if record.get("message") == "request"] == [500]
    assert "Traceback (most recent call last)" in records[0]["exception"]
    assert f"RuntimeError: {SECRET}" in records[0]["exception"]


def test_contract_breach_gets_500_and_the_log_names_it(targets: Targets) -> None:
    body = instances(ITEM, ITEM, ITEM)

    response = both(targets, "wrong_length.py", "POST", "/predict", body, request_id="req-short-1")

    assert assert_problem(response, 500)["request_id"] == "req-short-1"
    assert "WrongLength" not in response.text
    [record] = [
        r
        for r in log_records(targets.server("wrong_length.py", {}))
        if r.get("request_id") == "req-short-1" and "exception" in r
    ]
    assert "WrongLength.predict returned 1 predictions for 3 instances" in record["exception"]


def test_predictor_error_gets_its_status_and_message(targets: Targets) -> None:
    response = both(targets, "refuses.py", "POST", "/predict", instances(ITEM))

    problem = assert_problem(response, 429)
    assert problem["detail"] == "quota exceeded for this model; retry in a minute"
    assert "request_id" not in problem


def test_setup_failure_keeps_serving_and_health_says_why(targets: Targets) -> None:
    health = both(targets, "exc_in_setup.py", "GET", "/health", content_type=None)

    problem = assert_problem(health, 503)
    assert "weights.bin is missing" in problem["detail"]
    assert "FileNotFoundError" in problem["detail"]


def test_setup_failure_answers_predict_with_503(targets: Targets) -> None:
    response = both(targets, "exc_in_setup.py", "POST", "/predict", instances(ITEM))

    problem = assert_problem(response, 503)
    assert "weights.bin is missing" in problem["detail"]


def test_setup_failure_is_logged_by_the_server(targets: Targets) -> None:
    server = targets.server("exc_in_setup.py", {})

    output = server.output()

    assert "weights.bin is missing" in output
    assert "/health answers 503" in output


def test_unhealthy_predictor_gets_503_on_health(targets: Targets) -> None:
    response = both(targets, "unhealthy.py", "GET", "/health", content_type=None)

    problem = assert_problem(response, 503)
    assert "Unhealthy.health() returned False" in problem["detail"]


def test_healthy_predictor_reports_ready_on_both_transports(targets: Targets) -> None:
    response = both(targets, "echo.py", "GET", "/health", content_type=None)

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_raw_body_predictor_reads_its_declared_content_type(targets: Targets) -> None:
    response = both(targets, "raw_body.py", "POST", "/predict", "a,1.5\nb,2\n", content_type="text/csv")

    assert response.status_code == 200
    assert response.json() == {"predictions": [{"name": "a", "doubled": 3.0}, {"name": "b", "doubled": 4.0}]}


def test_raw_body_predictor_415_lists_the_accepted_types(targets: Targets) -> None:
    response = both(targets, "raw_body.py", "POST", "/predict", "a 1.5", content_type="text/plain")

    problem = assert_problem(response, 415)
    assert "application/json, text/csv" in problem["detail"]
