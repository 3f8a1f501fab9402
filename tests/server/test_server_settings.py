"""`predictor serve`'s settings are data, resolved once and handed down: to the app, the batcher,
the worker processes, and the connection guard uvicorn builds from `uvicorn_options(settings)`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from support.fresh_python import python_json
from support.paths import REPO
from support.processes import HOST, free_port, stop

from predictor.server.settings import BatchSettings, ServerSettings, ServeSettings

# uvicorn launched "another way": the settings given win over what the environment says.
LAUNCH = """
import sys, uvicorn
from predictor.server.serve import uvicorn_options
from predictor.server.settings import ServerSettings

async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})

settings = ServerSettings(header_timeout_s=2.0, max_connections=2)
uvicorn.run(app, host=sys.argv[1], port=int(sys.argv[2]), lifespan="off", **uvicorn_options(settings))
"""


@pytest.fixture
def launched() -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "PREDICTOR_HEADER_TIMEOUT_S": "60", "PREDICTOR_MAX_CONNECTIONS": "1000"}
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, HOST, str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        time.sleep(0.2)  # the probe's connection is gone before the test's are counted
        yield port
    finally:
        stop(process)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_uvicorn_options_apply_the_settings_given_not_the_environment(launched: int) -> None:
    opened = time.monotonic()
    connections = []
    for _ in range(3):
        connections.append(socket.create_connection((HOST, launched)))
        time.sleep(0.05)  # each idle for longer than the next
    first, second, third = connections
    with first, second, third:
        # A cap of 2 (the environment says 1000): the third connection closes the longest-idle one.
        assert closed_within(first, 1.5)
        assert not closed_within(second, 0.1)
        # A header timeout of 2 s (the environment says 60).
        assert closed_within(second, 5) and closed_within(third, 1)
        assert time.monotonic() - opened < 6


def test_serve_settings_resolve_every_part_once_from_one_environment() -> None:
    environ = {
        "PREDICTOR_FUNCTION": "functions/iris",
        "PREDICTOR_MAX_CONNECTIONS": "7",
        "PREDICTOR_BATCH_SIZE": "3",
        "PREDICTOR_BATCH_WAIT_MS": "2",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "4",
    }
    settings = ServeSettings.resolve(None, "0.0.0.0", 9000, environ)

    assert settings == ServeSettings(
        function="functions/iris",
        host="0.0.0.0",
        port=9000,
        timeout_s=4.0,
        server=ServerSettings(max_connections=7),
        batch=BatchSettings(max_instances=3, max_wait_s=0.002),
    )


@pytest.mark.parametrize("module", ["predictor.server.settings", "predictor.server.connections"])
def test_each_server_module_imports_alone(module: str) -> None:
    loaded = python_json(
        f"""
        import json, sys
        import {module}
        print(json.dumps(sorted(name for name in sys.modules if name.startswith("predictor.server."))))
        """
    )

    assert module in loaded
    if module == "predictor.server.settings":
        # Data only: none of the wiring (serve, connections, the app) and no uvicorn.
        assert loaded == ["predictor.server.settings"]


def test_serve_settings_reach_worker_processes_whole() -> None:
    server, batch = ServerSettings(linger_s=1.5), BatchSettings(2, 0.5)
    settings = ServeSettings("f", timeout_s=2.5, server=server, batch=batch)

    assert ServeSettings.from_json(settings.to_json()) == settings
