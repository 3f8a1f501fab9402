"""iris `/invocations` over loopback with wrk: `predictor serve` against the usual model servers.

Same ONNX model, same single-instance request, 16 and 64 connections, interleaved rounds.
Peers: MLServer 1.7 with a custom runtime, BentoML 1.4.39 (both in .venv-peers, created on
first run), and a minimal Starlette app (pydantic parse, session.run, JSON) in the project's
venv. Targets: ≥ 1.5x MLServer, ≥ 0.8x the Starlette floor. A missing wrk or peer is skipped
with a line saying why; the benchmark never fails for it.
"""

from __future__ import annotations

import json
import statistics
import sys

from benchmarks._serving import ROOT, Load, Server, free_port, peers_python, rotate, run_wrk, wrk_available
from benchmarks._timing import table, versions

OURS = "predictor serve /invocations"
FLOOR = "Starlette floor"
MLSERVER = "MLServer custom runtime"
BENTOML = "BentoML"
CONNECTIONS = (16, 64)
ROUNDS = 3
SECONDS = 4
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
ENVELOPE = json.dumps({"instances": [SETOSA]}).encode()
V2_TENSOR = json.dumps(
    {"inputs": [{"name": "X", "shape": [1, 4], "datatype": "FP32", "data": list(SETOSA.values())}]}
).encode()


def servers() -> list[Server]:
    python = str(ROOT / ".venv" / "bin" / "python")
    found = [
        Server(
            OURS,
            [str(ROOT / ".venv" / "bin" / "predictor"), "serve", "functions/iris", "--port", "{port}"],
            "/invocations",
            ENVELOPE,
        ),
        Server(
            FLOOR,
            [python, "-m", "benchmarks.serving_peers.starlette_floor", "{port}"],
            "/invocations",
            ENVELOPE,
        ),
    ]
    peers = peers_python()
    if peers is None:
        print("skipping MLServer and BentoML: could not create .venv-peers", flush=True)
        return found
    bin_dir = peers.parent
    if (bin_dir / "mlserver").exists():
        found.append(
            Server(
                MLSERVER,
                [str(bin_dir / "mlserver"), "start", "benchmarks/serving_peers/mlserver_iris"],
                "/v2/models/iris/infer",
                V2_TENSOR,
                env={
                    "MLSERVER_HTTP_PORT": "{port}",
                    "MLSERVER_GRPC_PORT": str(free_port()),
                    "MLSERVER_METRICS_PORT": str(free_port()),
                    # Inference in the server process: no IPC to a worker pool, its fastest setting.
                    "MLSERVER_PARALLEL_WORKERS": "0",
                },
            )
        )
    else:
        print(f"skipping {MLSERVER}: mlserver is not installed in .venv-peers", flush=True)
    if (bin_dir / "bentoml").exists():
        found.append(
            Server(
                BENTOML,
                [
                    str(bin_dir / "bentoml"),
                    "serve",
                    "benchmarks.serving_peers.bentoml_iris:Iris",
                    "--port",
                    "{port}",
                ],
                "/invocations",
                ENVELOPE,
                env={"BENTOML_DO_NOT_TRACK": "true"},
            )
        )
    else:
        print(f"skipping {BENTOML}: bentoml is not installed in .venv-peers", flush=True)
    return found


def main() -> None:
    if not wrk_available():
        print("skipping container_serving: wrk is not installed (apt-get install -y wrk)", flush=True)
        return
    candidates = servers()
    for server in candidates:
        server.port = free_port()
        server.start()
    running = []
    for server in candidates:
        if server.ready():
            running.append(server)
        else:
            print(
                f"skipping {server.name}: it did not answer within 90 s:\n{server.output_tail()}", flush=True
            )
            server.stop()
    try:
        if not any(server.name == OURS for server in running):
            print("container_serving: predictor serve did not start", flush=True)
            return
        report(measure(running))
    finally:
        for server in running:
            server.stop()


def measure(running: list[Server]) -> dict[tuple[str, int], list[Load]]:
    loads: dict[tuple[str, int], list[Load]] = {}
    for server in running:  # warm-up
        run_wrk(server, 16, 1)
    for index in range(ROUNDS):
        for connections in CONNECTIONS:
            for server in rotate(running, index):
                loads.setdefault((server.name, connections), []).append(run_wrk(server, connections, SECONDS))
    return loads


def report(loads: dict[tuple[str, int], list[Load]]) -> None:
    names = list(dict.fromkeys(name for name, _ in loads))
    rows = []
    for connections in CONNECTIONS:
        ours = loads[(OURS, connections)]
        for name in names:
            samples = loads[(name, connections)]
            ratio = (
                statistics.median(
                    o.requests_per_s / s.requests_per_s
                    for o, s in zip(ours, samples, strict=True)
                    if s.requests_per_s
                )
                if any(s.requests_per_s for s in samples)
                else float("nan")
            )
            rows.append(
                [
                    f"{name} c{connections}",
                    f"{statistics.median(s.requests_per_s for s in samples):,.0f}",
                    f"{statistics.median(s.cpu_us_per_request for s in samples):,.0f}",
                    f"{statistics.median(s.p50_ms for s in samples):.2f}",
                    f"{statistics.median(s.p99_ms for s in samples):.2f}",
                    "" if name == OURS else f"{ratio:.2f}x",
                ]
            )
    print(table(["server, connections", "req/s", "CPU µs/req", "p50 ms", "p99 ms", "ours ÷ it"], rows))
    print(f"targets: ≥ 1.5x {MLSERVER}, ≥ 0.8x {FLOOR}; medians of {ROUNDS} interleaved {SECONDS} s rounds")
    print(versions("uvicorn", "uvloop", "httptools", "starlette", "onnxruntime", "pydantic"))
    print("MLServer and BentoML: their own .venv-peers (mlserver 1.7, bentoml 1.4.39, uvloop there too)")
    sys.stdout.flush()
