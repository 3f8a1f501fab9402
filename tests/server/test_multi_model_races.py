"""A multi-model server under concurrent calls: racing loads set a model up once, an invoke that
arrives during its model's load waits for it, an unload lets the invocations it found finish
first, and the unloaded model's memory leaves the server process before the unload is answered."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from support.multi_model import MultiModelServer, model_dir, multi_model_server, predictions

MIB = 1024 * 1024
INSTANCES = {"instances": [{"x": 2, "name": "n"}]}


async def timed(call: Any) -> tuple[httpx.Response, float]:
    """The response and the monotonic time it arrived."""
    response = await call
    return response, time.monotonic()


async def concurrently(
    mme: MultiModelServer, *calls: tuple[float, str, str, Any]
) -> list[tuple[httpx.Response, float]]:
    """(delay, method, path, json) calls, each started after its delay, over one connection pool."""
    async with httpx.AsyncClient(base_url=mme.server.url, trust_env=False, timeout=60) as client:

        async def one(delay: float, method: str, path: str, body: Any) -> tuple[httpx.Response, float]:
            await asyncio.sleep(delay)
            return await timed(client.request(method, path, json=body))

        return await asyncio.gather(*(one(*call) for call in calls))


def test_racing_loads_of_one_model_set_it_up_once(tmp_path: Path) -> None:
    url = model_dir(tmp_path, "m", factor=2, setup_s=1.0)
    load = {"model_name": "m", "url": url}
    with multi_model_server(tmp_path) as mme:
        answers = asyncio.run(concurrently(mme, *[(0.0, "POST", "/models", load)] * 3))
        invoked = mme.invoke("m")

    assert sorted(response.status_code for response, _ in answers) == [200, 409, 409]
    assert mme.setups() == [url]
    assert invoked.status_code == 200


def test_an_invoke_arriving_while_its_model_loads_waits_and_is_answered(tmp_path: Path) -> None:
    url = model_dir(tmp_path, "m", factor=3, setup_s=1.0)
    with multi_model_server(tmp_path) as mme:
        (loaded, loaded_at), (invoked, invoked_at) = asyncio.run(
            concurrently(
                mme,
                (0.0, "POST", "/models", {"model_name": "m", "url": url}),
                (0.3, "POST", "/models/m/invoke", INSTANCES),
            )
        )

    assert loaded.status_code == 200
    assert invoked.status_code == 200, invoked.text
    assert invoked.json()["predictions"] == [{"name": "n", "doubled": 6.0}]
    assert invoked_at >= loaded_at - 0.05  # answered once the load had been


def test_a_model_being_loaded_is_described_as_loading(tmp_path: Path) -> None:
    url = model_dir(tmp_path, "m", factor=3, setup_s=1.5)
    with multi_model_server(tmp_path) as mme:
        (loaded, _), (described, _) = asyncio.run(
            concurrently(
                mme,
                (0.0, "POST", "/models", {"model_name": "m", "url": url}),
                (0.5, "GET", "/models/m", None),
            )
        )

    assert loaded.status_code == 200
    assert described.json() == {"modelName": "m", "modelUrl": url, "status": "loading"}


def test_an_unload_lets_the_invocations_in_flight_finish_first_and_refuses_new_ones(tmp_path: Path) -> None:
    url = model_dir(tmp_path, "m", factor=2, predict_s=0.6)
    with multi_model_server(tmp_path, PREDICTOR_BATCH_SIZE="1") as mme:
        assert mme.load("m", url).status_code == 200
        answers = asyncio.run(
            concurrently(
                mme,
                *[(0.0, "POST", "/models/m/invoke", INSTANCES)] * 3,
                (0.3, "DELETE", "/models/m", None),
                (0.5, "POST", "/models/m/invoke", INSTANCES),
            )
        )

    *in_flight, (unloaded, unloaded_at), (late, _) = answers
    # One predict at a time, one instance each: the three invocations take ~1.8 s in all.
    assert [response.status_code for response, _ in in_flight] == [200, 200, 200]
    assert all(response.json()["predictions"] == [{"name": "n", "doubled": 4.0}] for response, _ in in_flight)
    assert unloaded.status_code == 200
    assert unloaded_at >= max(at for _, at in in_flight)
    assert late.status_code == 404
    assert mme.setup_lines() == [url, f"teardown {url}"]


def test_an_unload_after_a_timed_out_invoke_tears_down_only_once_its_predict_has_ended(
    tmp_path: Path,
) -> None:
    url = model_dir(tmp_path, "m", factor=2, predict_s=1.5, log_predict=True)
    with multi_model_server(tmp_path, SAGEMAKER_MODEL_SERVER_TIMEOUT="0.5") as mme:
        assert mme.load("m", url).status_code == 200
        timed_out = mme.invoke("m")
        unloaded = mme.client.delete("/models/m")
        log_when_unloaded = mme.setup_lines()

    assert timed_out.status_code == 504
    assert unloaded.status_code == 200
    # The predict that timed out ran to its end before teardown, never beside it.
    assert log_when_unloaded == [url, f"predicted {url}", f"teardown {url}"]


def test_the_server_process_resident_memory_falls_after_an_unload(tmp_path: Path) -> None:
    with multi_model_server(tmp_path) as mme:
        before = mme.resident_bytes()
        assert mme.load("big", model_dir(tmp_path, "big", factor=2, ballast_mib=300)).status_code == 200
        assert mme.invoke("big").status_code == 200
        loaded = mme.resident_bytes()
        assert mme.client.delete("/models/big").status_code == 200
        unloaded = mme.resident_bytes()

    assert loaded - before > 280 * MIB
    assert loaded - unloaded > 280 * MIB
    assert unloaded - before < 20 * MIB


def test_sigterm_lets_invocations_in_flight_finish_then_tears_every_model_down(tmp_path: Path) -> None:
    slow, quick = model_dir(tmp_path, "slow", factor=2, predict_s=1.0), model_dir(tmp_path, "quick", factor=1)
    with multi_model_server(tmp_path) as mme:
        assert mme.load("slow", slow).status_code == 200
        assert mme.load("quick", quick).status_code == 200

        async def during_shutdown() -> tuple[httpx.Response, int | str]:
            async with httpx.AsyncClient(base_url=mme.server.url, trust_env=False, timeout=30) as client:
                invoking = asyncio.create_task(client.post("/models/slow/invoke", json=INSTANCES))
                await asyncio.sleep(0.3)
                mme.server.terminate()
                await asyncio.sleep(0.1)
                try:
                    async with httpx.AsyncClient(
                        base_url=mme.server.url, trust_env=False, timeout=2
                    ) as fresh:
                        ping: int | str = (await fresh.get("/ping")).status_code
                except httpx.TransportError as exc:
                    ping = type(exc).__name__
                return await invoking, ping

        invoked, ping = asyncio.run(during_shutdown())
        mme.server.stop()

    assert predictions(invoked) == [4.0]
    assert ping != 200  # 503, or the port is already closed
    assert sorted(line for line in mme.setup_lines() if line.startswith("teardown")) == sorted(
        [f"teardown {slow}", f"teardown {quick}"]
    )
