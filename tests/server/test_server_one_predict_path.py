"""`predictor serve` has one predict path: /predict and /invocations share the batcher and its timeout,
so `predict` never runs concurrently on the one predictor instance, whichever route a caller uses."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from support.paths import FIXTURES
from support.server_process import ServerProcess, probe_while_predicting

BURST = 40
TIMEOUT_ENV = "SAGEMAKER_MODEL_SERVER_TIMEOUT"


def route(i: int) -> str:
    return "/predict" if i % 2 == 0 else "/invocations"


async def mixed_burst(url: str, bodies: list[dict[str, object]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=30, limits=limits) as client:
        return await asyncio.gather(*(client.post(route(i), json=body) for i, body in enumerate(bodies)))


@pytest.mark.parametrize("batch_size", ["1", "64"])
def test_predict_never_overlaps_across_predict_and_invocations(batch_size: str) -> None:
    # counting.py sleeps 50 ms in predict and counts every call that finds another one running.
    bodies = [
        {"instances": [{"x": i + 1, "name": f"r{i}-{j}"} for j in range(i % 3 + 1)]} for i in range(BURST)
    ]
    with ServerProcess(FIXTURES / "counting.py", {"PREDICTOR_BATCH_SIZE": batch_size}) as server:
        responses = asyncio.run(mixed_burst(server.url, bodies))
        with httpx.Client(base_url=server.url, trust_env=False) as client:
            metadata = client.get("/metadata").json()

    for i, response in enumerate(responses):
        assert response.status_code == 200, (route(i), response.text)
        assert response.headers["content-type"] == "application/json"
        expected = [{"name": f"r{i}-{j}", "doubled": 2.0 * (i + 1)} for j in range(i % 3 + 1)]
        assert response.json() == {"predictions": expected}, route(i)
    assert metadata["overlapping"] == 0, "predict calls overlapped"
    assert sum(metadata["batch_sizes"]) == sum(i % 3 + 1 for i in range(BURST))
    if batch_size == "1":  # a request per call: 40 calls queued, one at a time
        assert len(metadata["batch_sizes"]) == BURST


def test_predict_over_the_model_server_timeout_is_504_as_on_invocations() -> None:
    env = {TIMEOUT_ENV: "0.5", "TEARDOWN_FILE": "/dev/null"}
    with (
        ServerProcess(FIXTURES / "slow.py", env) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client,
    ):
        slow = client.post(
            "/predict", json={"instances": [{"x": 1.5, "name": "slow"}]}, headers={"x-request-id": "p1"}
        )
        # The timed-out predict cannot be stopped: it holds the predict thread to its end.
        time.sleep(1.2)
        fast = client.post("/predict", json={"instances": [{"x": 0.01, "name": "fast"}]})
    assert slow.status_code == 504
    assert slow.headers["content-type"] == "application/problem+json"
    problem = slow.json()
    assert problem["status"] == 504
    assert problem["detail"] == (
        f"The prediction took longer than {TIMEOUT_ENV}=0.5 s; "
        "send fewer instances or raise the timeout (request id p1)"
    )
    assert problem["request_id"] == "p1"
    assert fast.status_code == 200
    assert fast.json() == {"predictions": [{"name": "fast", "doubled": 0.02}]}


def test_predict_queues_behind_invocations_and_its_wait_counts_toward_the_timeout() -> None:
    # Alone, the /predict call takes 1.0 s, inside the 1.5 s bound; sent 0.3 s into a 1.0 s
    # /invocations call on the same batcher, it cannot answer until 1.7 s after it arrived.
    env = {TIMEOUT_ENV: "1.5", "TEARDOWN_FILE": "/dev/null", "PREDICTOR_BATCH_SIZE": "1"}

    async def both(url: str) -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=10) as client:
            first = asyncio.create_task(
                client.post("/invocations", json={"instances": [{"x": 1.0, "name": "first"}]})
            )
            await asyncio.sleep(0.3)
            second = await client.post(
                "/predict", json={"instances": [{"x": 1.0, "name": "second"}]}, headers={"x-request-id": "p2"}
            )
            return await first, second

    with ServerProcess(FIXTURES / "slow.py", env) as server:
        first, second = asyncio.run(both(server.url))

    assert first.status_code == 200, first.text
    assert second.status_code == 504, second.text
    assert second.json()["request_id"] == "p2"


def test_health_answers_while_a_predict_route_call_runs() -> None:
    with ServerProcess(FIXTURES / "slow.py", {"TEARDOWN_FILE": "/dev/null"}) as server:
        probe = probe_while_predicting(
            server.url, "/predict", {"instances": [{"x": 2, "name": "long"}]}, "/health"
        )
    assert probe.answer.status_code == 200
    assert probe.seconds < 1.5
    assert probe.predicted.status_code == 200
