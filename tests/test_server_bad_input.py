"""Bad requests and failing predictors, over a socket to `predictor serve` and through the Lambda handler.

Every request is sent to both: the server and the Lambda handler must answer with the same
status, content type and body, so each case here also proves the two transports agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_process import REPO, ServerProcess

from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler
from predictor.runtime import Runtime

FIXTURES = REPO / "tests" / "fixtures" / "predictors"
PROBLEM_JSON = "application/problem+json"
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


class Context:
    """The attributes of Lambda's context object the handler reads."""

    function_name = "predictor-test"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:predictor-test"

    def __init__(self, aws_request_id: str) -> None:
        self.aws_request_id = aws_request_id

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def http_api_event(method: str, path: str, body: str | None, content_type: str | None) -> dict[str, Any]:
    """A minimal API Gateway HTTP API payload 2.0 event, as API Gateway sends it."""
    headers = {"host": "abc123.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https"}
    if content_type is not None:
        headers["content-type"] = content_type
    if body is not None:
        headers["content-length"] = str(len(body.encode()))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "pytest",
            },
            "requestId": "apigw-request-id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "21/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795003200000,
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event


@dataclass
class Targets:
    """One server process and one Lambda handler per (fixture, environment), started on first use."""

    artifacts: Path
    servers: dict[tuple[str, str], ServerProcess] = field(default_factory=dict)
    handlers: dict[tuple[str, str], LambdaHandler] = field(default_factory=dict)

    def server(self, fixture: str, env: Mapping[str, str]) -> ServerProcess:
        key = (fixture, json.dumps(dict(env), sort_keys=True))
        if key not in self.servers:
            server = ServerProcess(FIXTURES / fixture, {"MODEL_URI": str(self.artifacts), **env})
            self.servers[key] = server.start()
        return self.servers[key]

    def handler(self, fixture: str, env: Mapping[str, str]) -> LambdaHandler:
        key = (fixture, json.dumps(dict(env), sort_keys=True))
        if key not in self.handlers:
            predictor_class = load_predictor_class(str(FIXTURES / fixture))
            runtime = Runtime(predictor_class, environ={"MODEL_URI": str(self.artifacts), **env})
            runtime.start()
            self.handlers[key] = LambdaHandler(runtime)
        return self.handlers[key]

    def boot(self, fixtures: list[tuple[str, Mapping[str, str]]]) -> None:
        """Start these servers side by side rather than one after another."""
        launched = []
        for fixture, env in fixtures:
            server = ServerProcess(FIXTURES / fixture, {"MODEL_URI": str(self.artifacts), **env})
            self.servers[(fixture, json.dumps(dict(env), sort_keys=True))] = server.launch()
            launched.append(server)
        for server in launched:
            server.wait_until_listening()

    def close(self) -> None:
        for server in self.servers.values():
            server.terminate()
        for server in self.servers.values():
            server.close()


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    pool = Targets(tmp_path_factory.mktemp("artifacts"))
    try:
        pool.boot([(name, {}) for name in SERVED] + [("echo.py", LIMITED)])
        yield pool
    finally:
        pool.close()


def both(
    targets: Targets,
    fixture: str,
    method: str,
    path: str,
    body: str | None = None,
    content_type: str | None = "application/json",
    env: Mapping[str, str] | None = None,
    request_id: str = "req-0001",
) -> httpx.Response:
    """Send one request to the server and to the Lambda handler; assert they agree; return the server's."""
    env = env or {}
    server = targets.server(fixture, env)
    headers = {"x-request-id": request_id}
    if content_type is not None:
        headers["content-type"] = content_type
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        response = client.request(method, path, content=body, headers=headers)

    event = http_api_event(method, path, body, content_type)
    answer = targets.handler(fixture, env)(event, Context(request_id))

    assert answer["statusCode"] == response.status_code
    assert answer["headers"]["content-type"] == response.headers["content-type"]
    assert json.loads(answer["body"]) == response.json()
    if response.status_code >= 400:
        assert_problem(response, response.status_code)
    return response


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["type"] == "about:blank"
    assert problem["title"] == HTTPStatus(status).phrase
    assert problem["status"] == status
    assert isinstance(problem["detail"], str) and problem["detail"]
    return problem


def instances(*items: object) -> str:
    return json.dumps({"instances": list(items)})


def log_records(server: ServerProcess) -> list[dict[str, Any]]:
    records = []
    for line in server.output().splitlines():
        if line.startswith("{"):
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

    records = [record for record in log_records(server) if record.get("request_id") == request_id]

    assert len(records) == 1
    assert records[0]["level"] == "ERROR"
    assert "Traceback (most recent call last)" in records[0]["exception"]
    assert f"RuntimeError: {SECRET}" in records[0]["exception"]


def test_contract_breach_gets_500_and_the_log_names_it(targets: Targets) -> None:
    body = instances(ITEM, ITEM, ITEM)

    response = both(targets, "wrong_length.py", "POST", "/predict", body, request_id="req-short-1")

    assert assert_problem(response, 500)["request_id"] == "req-short-1"
    assert "WrongLength" not in response.text
    [record] = [
        r for r in log_records(targets.server("wrong_length.py", {})) if r.get("request_id") == "req-short-1"
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
