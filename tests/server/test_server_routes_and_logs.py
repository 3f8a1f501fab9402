"""`predictor serve` routes and log lines: HEAD, the documented 503, and one honest record per failure."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.fresh_python import PREDICTOR_CLI, run_cli
from support.paths import FIXTURES, REPO
from support.processes import HOST
from support.server_process import ServerProcess

IRIS = REPO / "functions" / "iris"


@pytest.fixture(scope="module")
def iris() -> Iterator[ServerProcess]:
    with ServerProcess(IRIS) as server:
        yield server


def records(server: ServerProcess) -> list[dict[str, Any]]:
    """The server's JSON log records (its EMF metric lines left out)."""
    lines = server.output().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{") and not line.startswith('{"_aws"')]


@pytest.mark.parametrize("path", ["/health", "/metadata", "/openapi.json", "/docs"])
def test_head_on_a_get_route_answers_like_get_without_a_body(iris: ServerProcess, path: str) -> None:
    get = httpx.get(iris.url + path, timeout=10)

    head = httpx.head(iris.url + path, timeout=10)

    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))


def test_openapi_documents_the_503_of_health_as_a_problem(iris: ServerProcess) -> None:
    document = httpx.get(f"{iris.url}/openapi.json", timeout=10).json()

    content = document["paths"]["/health"]["get"]["responses"]["503"]["content"]

    assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_client_leaving_mid_body_is_logged_once_as_a_disconnect(iris: ServerProcess) -> None:
    with socket.create_connection((HOST, iris.port), timeout=5) as sock:
        head = "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: 1000\r\n\r\n".encode() + b'{"instances": [')
        time.sleep(0.3)
    time.sleep(0.5)

    logged = records(iris)

    disconnects = [r for r in logged if r["message"] == "client disconnected before sending the whole body"]
    assert len(disconnects) == 1
    assert disconnects[0]["level"] == "INFO"
    assert [r for r in logged if r["level"] == "ERROR"] == []
    assert "Traceback" not in iris.output()


def test_failing_metadata_is_a_500_logged_once_as_a_metadata_failure() -> None:
    with ServerProcess(FIXTURES / "exc_in_metadata.py") as server:
        response = httpx.get(f"{server.url}/metadata", headers={"x-request-id": "req-meta"}, timeout=10)
        time.sleep(0.3)
        logged = records(server)
        output = server.output()

    assert response.status_code == 500
    assert response.json()["request_id"] == "req-meta"
    assert [(r["level"], r["message"]) for r in logged if r["level"] == "ERROR"] == [
        ("ERROR", "metadata failed")
    ]
    assert output.count("Traceback (most recent call last)") == 1  # the one inside that record
    [failure] = [r for r in logged if "exception" in r]
    assert "KeyError: 'model card is missing'" in failure["exception"]


def test_invoke_on_a_deeply_nested_file_exits_2_with_one_line(tmp_path: Path) -> None:
    event = tmp_path / "deep.json"
    event.write_text("[" * 100_000 + "]" * 100_000)

    finished = subprocess.run(
        [str(PREDICTOR_CLI), "invoke", str(FIXTURES / "echo.py"), str(event)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 2
    assert finished.stderr == f"predictor: {event} is nested too deeply to be an event\n"


def test_invoke_of_a_failing_direct_invocation_exits_1_with_the_problem(tmp_path: Path) -> None:
    event = tmp_path / "direct.json"
    event.write_text(json.dumps({"instances": [{"x": 1, "name": "a"}]}))

    finished = subprocess.run(
        [str(PREDICTOR_CLI), "invoke", str(FIXTURES / "exc_in_predict.py"), str(event)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 1
    # Standard output holds Lambda's error object for the raised problem; standard error the
    # function's log record (with the traceback), then the problem on one line.
    error = json.loads(finished.stdout)
    assert error["errorType"] == "ProblemError"
    assert error["errorMessage"].endswith(f"search the logs for request id {error['requestId']}")
    *logs, last = finished.stderr.splitlines()
    logged = [json.loads(line) for line in logs if line.startswith("{")]
    [record] = [r for r in logged if r["level"] == "ERROR"]
    assert record["message"] == "predict failed"
    assert record["request_id"] == error["requestId"]
    assert last.startswith("predictor: 500 Internal Server Error: The predictor failed on this request; ")


@pytest.mark.parametrize("text", ["null", '"hello"', "[1, 2]"])
def test_invoke_of_an_event_no_source_takes_prints_lambdas_error_object_and_one_line(
    tmp_path: Path, text: str
) -> None:
    event = tmp_path / "event.json"
    event.write_text(text)

    finished = run_cli("invoke", str(FIXTURES / "echo.py"), str(event))

    assert finished.returncode == 1
    error = json.loads(finished.stdout)
    assert list(error) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert error["errorType"] == "UnrecognisedEvent"
    assert error["errorMessage"].startswith("Unrecognised event: received a JSON ")
    assert re.fullmatch(r"[0-9a-f]{32}", error["requestId"])
    # The runtime's frames, from the handler down: none of the command's own.
    assert error["stackTrace"]
    for frame in error["stackTrace"]:
        assert re.fullmatch(r'  File "[^"]+", line \d+, in \w+\n    .+\n', frame)
        assert "cli.py" not in frame
    assert finished.stderr == f"predictor: UnrecognisedEvent: {error['errorMessage']}\n"


def test_invoke_with_debug_adds_the_traceback_before_the_one_line(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text("null")

    finished = run_cli("invoke", "--debug", str(FIXTURES / "echo.py"), str(event))

    assert finished.returncode == 1
    assert json.loads(finished.stdout)["errorType"] == "UnrecognisedEvent"
    *traceback, last = finished.stderr.splitlines()
    assert traceback[0] == "Traceback (most recent call last):"
    assert traceback[-1].startswith("predictor.aws_lambda._source.UnrecognisedEvent: Unrecognised event")
    assert last.startswith("predictor: UnrecognisedEvent: Unrecognised event")
