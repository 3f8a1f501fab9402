"""One request sent to both HTTP transports, `predictor serve` over a socket and the Lambda handler,
which must answer with the same status, content type and body."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx

from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler
from predictor.aws_lambda._settings import EventSettings
from predictor.runtime import Runtime
from support.lambda_events import LambdaContext
from support.paths import FIXTURES
from support.server_process import ServerProcess

PROBLEM_JSON = "application/problem+json"


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
            self.handlers[key] = LambdaHandler(runtime, EventSettings.from_environ(runtime.environ))
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
    event["requestContext"]["requestId"] = request_id  # API Gateway's id names the request on Lambda
    answer = targets.handler(fixture, env)(event, LambdaContext(aws_request_id=request_id))

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
