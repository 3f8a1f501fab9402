"""Dynamic batching on `predictor serve`: concurrent callers share predict calls, never answers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from support.paths import FIXTURES
from support.server_process import ServerProcess, probe_while_predicting

BURST = 40


@pytest.fixture
def counting() -> Iterator[ServerProcess]:
    with ServerProcess(FIXTURES / "counting.py", {"PREDICTOR_BATCH_SIZE": "64"}) as server:
        yield server


async def burst(
    url: str, bodies: list[dict[str, object]], headers: list[dict[str, str]] | None = None
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=20, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post("/invocations", json=body, headers=(headers or [{}] * len(bodies))[i])
                for i, body in enumerate(bodies)
            )
        )


def batch_sizes(server: ServerProcess) -> list[int]:
    with httpx.Client(base_url=server.url, trust_env=False) as client:
        metadata = client.get("/metadata").json()
    assert metadata["overlapping"] == 0, "predict calls overlapped"
    sizes: list[int] = metadata["batch_sizes"]
    return sizes


def test_concurrent_burst_shares_predict_calls_and_each_caller_gets_its_own(counting: ServerProcess) -> None:
    bodies = [
        {"instances": [{"x": i + 1, "name": f"r{i}-{j}"} for j in range(i % 3 + 1)]} for i in range(BURST)
    ]

    responses = asyncio.run(burst(counting.url, bodies))

    for i, response in enumerate(responses):
        assert response.status_code == 200, response.text
        expected = [{"name": f"r{i}-{j}", "doubled": 2.0 * (i + 1)} for j in range(i % 3 + 1)]
        assert response.json() == {"predictions": expected}
    sizes = batch_sizes(counting)
    assert sum(sizes) == sum(i % 3 + 1 for i in range(BURST))
    assert len(sizes) < BURST / 2, sizes


def test_invalid_request_is_answered_alone_and_never_joins_a_batch(counting: ServerProcess) -> None:
    bodies: list[dict[str, object]] = [{"instances": [{"x": 1, "name": f"ok{i}"}]} for i in range(10)]
    bodies.insert(5, {"instances": [{"x": -1, "name": "bad"}]})

    responses = asyncio.run(burst(counting.url, bodies))

    statuses = [response.status_code for response in responses]
    assert statuses == [200] * 5 + [422] + [200] * 5
    assert sum(batch_sizes(counting)) == 10


def test_raising_batch_fails_only_its_own_requests_each_with_its_request_id() -> None:
    # Batches of one request: the failing request cannot take others with it.
    with ServerProcess(FIXTURES / "counting.py", {"PREDICTOR_BATCH_SIZE": "1"}) as server:
        bodies: list[dict[str, object]] = [{"instances": [{"x": 1, "name": f"ok{i}"}]} for i in range(6)]
        bodies[2] = {"instances": [{"x": 1, "name": "boom"}]}
        headers = [{"x-request-id": f"req-{i}"} for i in range(6)]
        responses = asyncio.run(burst(server.url, bodies, headers))
    assert [response.status_code for response in responses] == [200, 200, 500, 200, 200, 200]
    assert responses[2].json()["request_id"] == "req-2"
    assert "search the logs for request id req-2" in responses[2].json()["detail"]


def test_batch_mates_of_a_raising_request_get_500s_with_their_own_ids_and_the_next_batch_works() -> None:
    # A batch waits up to 5 s to fill 4 instances: the 4 concurrent requests form exactly one batch.
    env = {"PREDICTOR_BATCH_SIZE": "4", "PREDICTOR_BATCH_WAIT_MS": "5000"}
    mates: list[dict[str, object]] = [
        {"instances": [{"x": 1, "name": "boom" if i == 0 else f"m{i}"}]} for i in range(4)
    ]
    more: list[dict[str, object]] = [{"instances": [{"x": 1, "name": f"n{i}"}]} for i in range(4)]
    with ServerProcess(FIXTURES / "counting.py", env) as server:
        failed = asyncio.run(burst(server.url, mates, [{"x-request-id": f"mate-{i}"} for i in range(4)]))
        after = asyncio.run(burst(server.url, more))
        sizes = batch_sizes(server)

    assert [response.status_code for response in failed] == [500] * 4
    assert [response.json()["request_id"] for response in failed] == [f"mate-{i}" for i in range(4)]
    assert [response.status_code for response in after] == [200] * 4
    assert sizes == [4, 4]


def test_client_that_disconnects_does_not_cancel_its_batch_mates(counting: ServerProcess) -> None:
    body = b'{"instances": [{"x": 1, "name": "leaver"}]}'
    leaver = socket.create_connection(("127.0.0.1", counting.port))
    leaver.sendall(
        b"POST /invocations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    time.sleep(0.01)
    leaver.close()
    bodies: list[dict[str, object]] = [{"instances": [{"x": 1, "name": f"stay{i}"}]} for i in range(8)]

    responses = asyncio.run(burst(counting.url, bodies))

    assert [response.json()["predictions"][0]["name"] for response in responses] == [
        f"stay{i}" for i in range(8)
    ]


def test_request_over_the_model_server_timeout_is_504_and_the_server_recovers(tmp_path: object) -> None:
    env = {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "0.5", "TEARDOWN_FILE": "/dev/null"}
    with (
        ServerProcess(FIXTURES / "slow.py", env) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client,
    ):
        slow = client.post(
            "/invocations",
            json={"instances": [{"x": 1.5, "name": "slow"}]},
            headers={"x-request-id": "s1"},
        )
        # The timed-out predict cannot be stopped: it holds the predict thread to its end.
        time.sleep(1.2)
        fast = client.post("/invocations", json={"instances": [{"x": 0.01, "name": "fast"}]})
    assert slow.status_code == 504
    assert slow.json()["detail"] == (
        "The prediction took longer than SAGEMAKER_MODEL_SERVER_TIMEOUT=0.5 s; "
        "send fewer instances or raise the timeout (request id s1)"
    )
    assert fast.status_code == 200


def test_ping_answers_within_two_seconds_while_predict_runs() -> None:
    with (
        ServerProcess(FIXTURES / "slow.py", {"TEARDOWN_FILE": "/dev/null"}) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client,
    ):
        probe = probe_while_predicting(
            server.url, "/invocations", {"instances": [{"x": 3, "name": "long"}]}, "/ping"
        )
        assert client.get("/ping").status_code == 200
    assert probe.answer.status_code == 200
    assert probe.seconds < 2
