"""`predictor serve` writes a log line per request and its metrics gathered into few EMF lines, names
every answer, and serves /metrics when asked."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from support.emf import Metric, is_emf, merged, metrics_of, value
from support.paths import FIXTURES
from support.server_process import ServerProcess

CANARY = "canary-d41c-container"
HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def echo() -> Iterator[ServerProcess]:
    with ServerProcess(FIXTURES / "echo.py", {"PREDICTOR_PROMETHEUS": "on"}) as server:
        yield server


# The server writes gathered metrics at most this long after their first value.
GATHER_S = 1.0


def observed(
    server: ServerProcess, request_id: str, act: Callable[[], Any]
) -> tuple[list[Metric], list[dict[str, Any]]]:
    """What the server wrote about what `act` sent: the metrics of the EMF lines written after it
    (waiting out the gathering before and after), and the log records naming `request_id`."""
    time.sleep(GATHER_S + 0.3)
    mark = len(server.output().splitlines())
    act()
    time.sleep(GATHER_S + 0.3)
    written = server.output().splitlines()[mark:]
    logs = [
        json.loads(line) for line in written if not is_emf(line) and f'"request_id":"{request_id}"' in line
    ]
    assert any(record["message"] == "request" for record in logs), server.output()[-3000:]
    return merged(metrics_of(written)), logs


def test_a_container_predict_writes_an_emf_line_and_a_log_line(echo: ServerProcess) -> None:
    body = {"instances": [{"x": 1, "name": "a"}, {"x": 2, "name": "b"}]}
    answers = []

    def post() -> None:
        answers.append(
            httpx.post(f"{echo.url}/invocations", json=body, headers={"x-request-id": "sm-1"}, timeout=10)
        )

    metrics, logs = observed(echo, "sm-1", post)

    [response] = answers
    assert response.status_code == 200
    assert (response.headers["x-request-id"], response.headers["x-model-version"]) == ("sm-1", "0")
    assert value(metrics, "Instances") == [2]
    assert value(metrics, "Requests") == [1]
    assert value(metrics, "BatchSize") == [2]
    assert len(value(metrics, "PredictLatency")) == 1
    assert {m.dimensions["model"] for m in metrics} == {"Echo"}
    [line] = [r for r in logs if r["message"] == "request"]
    assert (line["source"], line["status"], line["instances"]) == ("server", 200, 2)
    assert (line["method"], line["path"]) == ("POST", "/invocations")


def test_an_invalid_request_counts_invalid_instances_and_a_422(echo: ServerProcess) -> None:
    body = {"instances": [{"x": -1, "name": "a"}, {"x": 2, "name": "b"}]}

    def post() -> None:
        response = httpx.post(f"{echo.url}/predict", json=body, headers={"x-request-id": "bad-1"}, timeout=10)
        assert response.status_code == 422

    metrics, _ = observed(echo, "bad-1", post)

    assert value(metrics, "InvalidInstances") == [1]
    assert value(metrics, "Errors", status="422") == [1]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/predict", 200),
        ("POST", "/invocations", 200),
        ("GET", "/ping", 200),
        ("GET", "/health", 200),
        ("GET", "/metadata", 200),
        ("GET", "/nowhere", 404),
        ("DELETE", "/invocations", 405),
    ],
)
def test_every_answer_names_its_request_and_the_model_version(
    echo: ServerProcess, method: str, path: str, status: int
) -> None:
    body = {"instances": [{"x": 1, "name": "a"}]} if method == "POST" else None

    response = httpx.request(method, echo.url + path, json=body, timeout=10)

    assert response.status_code == status
    assert HEX_ID.fullmatch(response.headers["x-request-id"])
    assert response.headers["x-model-version"] == "0"


def test_sagemakers_request_id_wins_and_an_unacceptable_one_is_replaced(echo: ServerProcess) -> None:
    body = {"instances": [{"x": 1, "name": "a"}]}
    given = {"x-amzn-requestid": "7f0c-sagemaker", "x-request-id": "client"}

    named = httpx.post(f"{echo.url}/invocations", json=body, headers=given, timeout=10)
    hostile = httpx.post(f"{echo.url}/invocations", json=body, headers={"x-request-id": "a b\tc"}, timeout=10)

    assert named.headers["x-request-id"] == "7f0c-sagemaker"
    assert HEX_ID.fullmatch(hostile.headers["x-request-id"])


def test_prometheus_text_counts_what_was_served(echo: ServerProcess) -> None:
    instances, ok = (
        'predictor_instances_total{model="Echo"}',
        'predictor_requests_total{model="Echo",status="200"}',
    )
    before = httpx.get(f"{echo.url}/metrics", timeout=10)
    httpx.post(f"{echo.url}/predict", json={"instances": [{"x": 1, "name": "p"}] * 3}, timeout=10)
    after = httpx.get(f"{echo.url}/metrics", timeout=10)

    assert after.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert sample(after.text, instances) == sample(before.text, instances) + 3
    assert sample(after.text, ok) == sample(before.text, ok) + 1
    assert sample(after.text, 'predictor_request_duration_seconds_bucket{model="Echo",le="+Inf"}') >= 1


def sample(text: str, series: str) -> float:
    """The value of one series in Prometheus text; 0 while it has none."""
    for line in text.splitlines():
        name, _, number = line.rpartition(" ")
        if name == series:
            return float(number)
    return 0.0


def test_no_payload_reaches_the_containers_output(echo: ServerProcess) -> None:
    bodies = [{"instances": [{"x": 1, "name": CANARY}]}, {"instances": [{"x": CANARY, "name": CANARY}]}]

    answers = [httpx.post(f"{echo.url}/invocations", json=body, timeout=10) for body in bodies]

    assert CANARY in answers[0].text
    time.sleep(0.3)
    assert CANARY not in echo.output()


def test_without_the_setting_metrics_is_not_a_route() -> None:
    with ServerProcess(FIXTURES / "echo.py") as server:
        response = httpx.get(f"{server.url}/metrics", timeout=10)

    assert response.status_code == 404


def test_a_client_leaving_before_its_answer_is_counted_as_499(echo: ServerProcess) -> None:
    def leave() -> None:
        with socket.create_connection(("127.0.0.1", echo.port), timeout=5) as sock:
            head = "POST /predict HTTP/1.1\r\nHost: t\r\nX-Request-Id: gone-1\r\n"
            sock.sendall(f"{head}Content-Length: 1000\r\n\r\n".encode() + b'{"instances": [')
            time.sleep(0.3)

    metrics, logs = observed(echo, "gone-1", leave)

    [line] = [r for r in logs if r["message"] == "request"]
    assert line["status"] == 499
    assert value(metrics, "Errors", status="499") == [1]


def test_many_requests_share_few_metric_lines_and_every_value_is_kept(echo: ServerProcess) -> None:
    body = {"instances": [{"x": 1, "name": "a"}]}

    def post_many() -> None:
        with httpx.Client(timeout=10) as client:
            for n in range(150):
                client.post(f"{echo.url}/invocations", json=body, headers={"x-request-id": f"many-{n}"})

    metrics, _ = observed(echo, "many-149", post_many)

    emf_lines = [line for line in echo.output().splitlines() if is_emf(line) and '"Requests"' in line]
    assert value(metrics, "Requests") == [1] * 150
    assert len(value(metrics, "Latency")) == 150
    assert sum(value(metrics, "BatchSize")) == 150
    assert len(emf_lines) < 20  # one line per request would be 150


@pytest.mark.parametrize(
    ("env", "access_log"),
    [({}, False), ({"PREDICTOR_ACCESS_LOG": "on"}, True), ({"PREDICTOR_OBSERVABILITY": "off"}, True)],
    ids=["request-line-only", "asked-for", "observability-off"],
)
def test_uvicorns_access_log_is_written_only_when_asked_or_without_the_request_line(
    env: dict[str, str], access_log: bool
) -> None:
    with ServerProcess(FIXTURES / "echo.py", env) as server:
        response = httpx.post(
            f"{server.url}/invocations", json={"instances": [{"x": 1, "name": "a"}]}, timeout=10
        )
        server.close()
        output = server.output()

    assert response.status_code == 200
    assert ('"POST /invocations HTTP/1.1" 200' in output) is access_log


def test_a_huge_path_is_cut_short_in_its_request_line(echo: ServerProcess) -> None:
    path = '/x"}\\%0a' + "b" * 20_000

    def get() -> None:
        response = httpx.get(echo.url + path, headers={"x-request-id": "long-path"}, timeout=10)
        assert response.status_code == 404

    _, logs = observed(echo, "long-path", get)

    [line] = [r for r in logs if r["message"] == "request"]
    assert line["path"] == '/x"}\\\n' + "b" * 1018 + "..."
