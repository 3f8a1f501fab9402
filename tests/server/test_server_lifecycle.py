"""How `predictor serve` starts and stops: ports from SageMaker's variables, /ping across setup, SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from support.fresh_python import python_json
from support.paths import FIXTURES
from support.processes import HOST, free_port
from support.server_process import ServerProcess

from predictor.server.batcher import BatchSettings
from predictor.server.serve import ServeSettings, container_model_uri


def test_sagemaker_bind_to_port_is_used_when_no_port_is_given() -> None:
    port = free_port()
    server = ServerProcess(FIXTURES / "echo.py", {"SAGEMAKER_BIND_TO_PORT": str(port)})
    server.command = server.command[:3]  # predictor serve FUNCTION, no --host/--port
    server.port, server.url = port, f"http://{HOST}:{port}"
    with server, httpx.Client(base_url=server.url, trust_env=False) as client:
        assert client.get("/ping").status_code == 200


def test_port_argument_wins_over_sagemaker_bind_to_port() -> None:
    settings = ServeSettings.resolve("f", None, 9001, {"SAGEMAKER_BIND_TO_PORT": "9002"})
    assert settings.port == 9001
    assert ServeSettings.resolve("f", None, None, {"SAGEMAKER_BIND_TO_PORT": "9002"}).port == 9002
    assert ServeSettings.resolve("f", None, None, {"PREDICTOR_PORT": "8080"}).port == 8080


def test_serve_without_a_function_says_how_to_name_one() -> None:
    with pytest.raises(ValueError, match=r"predictor serve functions/NAME\) or set PREDICTOR_FUNCTION"):
        ServeSettings.resolve(None, None, None, {})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "two", "SAGEMAKER_MODEL_SERVER_WORKERS='two' is not an integer"),
        (
            "SAGEMAKER_MODEL_SERVER_TIMEOUT",
            "-1",
            "SAGEMAKER_MODEL_SERVER_TIMEOUT='-1' must be a positive number",
        ),
    ],
)
def test_bad_server_settings_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServeSettings.resolve("f", None, None, {name: value})


def test_bad_batch_settings_name_the_variable() -> None:
    with pytest.raises(
        ValueError, match="PREDICTOR_BATCH_WAIT_MS='soon' is not a number; set it to 0 or more"
    ):
        BatchSettings.from_environ({"PREDICTOR_BATCH_WAIT_MS": "soon"})
    assert BatchSettings.from_environ({"PREDICTOR_BATCH_WAIT_MS": "0", "PREDICTOR_BATCH_SIZE": "8"}) == (
        BatchSettings(max_instances=8, max_wait_s=0.0)
    )


def test_artifacts_come_from_opt_ml_model_unless_model_uri_is_set(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    environ: dict[str, str] = {}
    container_model_uri(environ, model_dir)
    assert environ == {}  # nothing extracted: the embedded artifacts serve
    model_dir.mkdir()
    (model_dir / "model.onnx").write_bytes(b"x")
    container_model_uri(environ, model_dir)
    assert environ == {"MODEL_URI": str(model_dir)}
    chosen = {"MODEL_URI": "s3://bucket/model.tar.gz"}
    container_model_uri(chosen, model_dir)
    assert chosen == {"MODEL_URI": "s3://bucket/model.tar.gz"}


def test_nothing_listens_while_setup_runs_then_ping_is_200() -> None:
    server = ServerProcess(FIXTURES / "slow_setup.py", {"SETUP_SECONDS": "2"}).launch()
    try:
        time.sleep(0.8)
        with pytest.raises(OSError), socket.create_connection((HOST, server.port), timeout=0.5):
            pass
        server.wait_until_listening()
        with httpx.Client(base_url=server.url, trust_env=False) as client:
            assert client.get("/ping").status_code == 200
    finally:
        server.close()


def test_several_workers_each_serve(tmp_path: Path) -> None:
    env = {"SAGEMAKER_MODEL_SERVER_WORKERS": "2", "PREDICTOR_BATCH_SIZE": "5"}
    with (
        ServerProcess(FIXTURES / "echo.py", env) as server,
        httpx.Client(base_url=server.url, trust_env=False) as client,
    ):
        for _ in range(20):
            if client.get("/ping").status_code == 200:
                break
            time.sleep(0.2)
        response = client.post("/invocations", json={"instances": [{"x": 1, "name": "a"}]})
        parameters = client.get("/execution-parameters").json()
    assert response.status_code == 200
    assert parameters["MaxConcurrentTransforms"] == 2
    assert server.output().count("Application startup complete") == 2
    # Each worker serves with the settings the launcher resolved.
    assert server.output().count("batches of up to 5 instances") == 2


def test_sigterm_lets_requests_in_flight_finish_then_tears_down_and_exits(tmp_path: Path) -> None:
    teardown = tmp_path / "teardown"
    server = ServerProcess(FIXTURES / "slow.py", {"TEARDOWN_FILE": str(teardown)}).start()
    try:

        async def scenario() -> tuple[list[httpx.Response], list[int | str], float]:
            async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=20) as client:
                in_flight = [
                    asyncio.create_task(
                        client.post("/invocations", json={"instances": [{"x": 0.6, "name": f"f{i}"}]})
                    )
                    for i in range(3)
                ]
                await asyncio.sleep(0.3)
                started = time.monotonic()
                server.terminate()
                after: list[int | str] = []
                for _ in range(5):
                    try:
                        async with httpx.AsyncClient(
                            base_url=server.url, trust_env=False, timeout=2
                        ) as fresh:
                            after.append((await fresh.get("/ping")).status_code)
                    except httpx.TransportError as exc:
                        after.append(type(exc).__name__)
                    await asyncio.sleep(0.05)
                finished = await asyncio.gather(*in_flight)
                return finished, after, started

        finished, after, started = asyncio.run(scenario())
        exit_code = server._process.wait(timeout=30) if server._process else None
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert [response.status_code for response in finished] == [200, 200, 200]
    assert [response.json()["predictions"][0]["name"] for response in finished] == ["f0", "f1", "f2"]
    assert 200 not in after, after  # after SIGTERM /ping is 503 or the port is closed
    assert teardown.read_text() == "torn down"
    assert "batched 3 requests (3 instances) into" in server.output()
    assert exit_code in (0, -signal.SIGTERM)
    assert elapsed < 10


def test_a_server_process_keeps_what_startup_made_out_of_the_collectors_walks() -> None:
    before, after = python_json(
        """
        import gc, json
        from predictor.server.serve import ServeSettings, build_app
        before = gc.get_freeze_count()
        build_app(ServeSettings("tests/fixtures/predictors/echo.py"))
        print(json.dumps([before, gc.get_freeze_count()]))
        """
    )

    assert before == 0
    assert after > 1000
