"""Multi-model endpoints: what loading one more model costs, and what spreading requests over many costs.

- load: `POST /models` of the iris model into a running multi-model server (then unloaded), ÷ a
  fresh `predictor serve functions/iris` process started with it until `/ping` answers 200.
- invoke: wrk, same connections and the same iris request, round-robin over 8 loaded models
  (each with its own batcher) ÷ all to one of them, in the same server, alternating rounds.

Medians over rounds, with the range of the per-round ratios.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks._processes import cpu_seconds, stop
from benchmarks._serving import HOST, free_port, wrk_available
from benchmarks._timing import median, table, versions

ROOT = Path(__file__).resolve().parents[1]
IRIS = ROOT / "functions" / "iris"
PREDICTOR = Path(sys.executable).parent / "predictor"
LOAD_ROUNDS = 7
INVOKE_ROUNDS = 6
MODELS = 8
CONNECTIONS = 16
SECONDS = 4
BODY = json.dumps(
    {"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}
)


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [str(PREDICTOR), "serve", str(IRIS), "--host", HOST, "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"http://{HOST}:{port}"


def until_ping(process: subprocess.Popen[bytes], url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    raise RuntimeError("the server did not answer /ping 200")


def fresh_server_seconds(model_dir: Path) -> float:
    started = time.perf_counter()
    process, url = start_server({"MODEL_URI": str(model_dir)})
    try:
        until_ping(process, url)
        return time.perf_counter() - started
    finally:
        stop(process)


def wrk_requests_per_s(url: str, paths: list[str], pid: int) -> tuple[float, float]:
    """req/s and the server's CPU µs per request, with wrk sending to `paths` in turn."""
    listed = ", ".join(f'"{path}"' for path in paths)
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    script.write(
        f'wrk.method = "POST"\nwrk.body = [==[{BODY}]==]\nwrk.headers["Content-Type"] = "application/json"\n'
        f"local paths = {{{listed}}}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n  return wrk.format(nil, paths[(i % #paths) + 1])\nend\n"
    )
    script.close()
    before = cpu_seconds(pid)
    done = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=False,
    )
    cpu = cpu_seconds(pid) - before
    os.unlink(script.name)
    if "Non-2xx" in done.stdout:
        raise RuntimeError(f"wrk saw errors:\n{done.stdout}")
    rate = float(done.stdout.split("Requests/sec:")[1].split()[0])
    requests = float(done.stdout.split(" requests in ")[0].split()[-1])
    return rate, cpu / max(requests, 1.0) * 1e6


def spread(ratios: list[float]) -> str:
    return f"{median(ratios):.3g} ({min(ratios):.3g}-{max(ratios):.3g})"


def main() -> None:
    print(versions("uvicorn", "onnxruntime", "pydantic"), flush=True)
    workspace = Path(tempfile.mkdtemp(prefix="bench-mme-"))
    model_dir = workspace / "model"
    shutil.copytree(IRIS / "model", model_dir)
    process, url = start_server({"SAGEMAKER_MULTI_MODEL": "true"})
    try:
        until_ping(process, url)
        with httpx.Client(base_url=url, timeout=60) as client:
            loads, fresh = load_rounds(client, model_dir)
            invoke_rows = invoke_rounds(client, url, model_dir, process.pid) if wrk_available() else []
    finally:
        stop(process)
        shutil.rmtree(workspace, ignore_errors=True)
    load_ratios = [load / start for load, start in zip(loads, fresh, strict=True)]
    print(
        table(
            ["load the iris model", "median", "range"],
            [
                ["into a running server, ms", f"{median(loads) * 1e3:.0f}", _range(loads, 1e3)],
                ["fresh server process to /ping 200, ms", f"{median(fresh) * 1e3:.0f}", _range(fresh, 1e3)],
                ["ratio (running ÷ fresh)", spread(load_ratios), ""],
            ],
        ),
        flush=True,
    )
    if not invoke_rows:
        print("wrk is not installed (apt-get install -y wrk): no invoke figures", flush=True)
        return
    one = [row[0] for row in invoke_rows]
    many = [row[1] for row in invoke_rows]
    rows = [
        [label, f"{median([r for r, _ in rounds]):.0f}", _range([r for r, _ in rounds]),
         f"{median([c for _, c in rounds]):.0f}"]
        for label, rounds in (("one model", one), (f"{MODELS} models round-robin", many))
    ]  # fmt: skip
    ratios = [m[0] / o[0] for o, m in zip(one, many, strict=True)]
    rows.append([f"ratio ({MODELS} models ÷ one)", spread(ratios), "", ""])
    headers = [
        f"invoke, wrk c{CONNECTIONS}, {SECONDS} s rounds",
        "req/s median",
        "range",
        "server CPU µs/req",
    ]
    print(table(headers, rows), flush=True)


def load_rounds(client: httpx.Client, model_dir: Path) -> tuple[list[float], list[float]]:
    """Seconds per load into the running server and per fresh server start, alternating."""
    _load(client, "warm-up", model_dir)  # the first load pays for onnxruntime's own first session
    client.delete("/models/warm-up")
    loads: list[float] = []
    fresh: list[float] = []
    for index in range(LOAD_ROUNDS):
        name = f"load-{index}"
        fresh.append(fresh_server_seconds(model_dir))
        loads.append(_load(client, name, model_dir))
        client.delete(f"/models/{name}")
    return loads, fresh


def invoke_rounds(
    client: httpx.Client, url: str, model_dir: Path, pid: int
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    names = [f"model-{index}" for index in range(MODELS)]
    for name in names:
        _load(client, name, model_dir)
    paths = [f"/models/{name}/invoke" for name in names]
    wrk_requests_per_s(url, paths, pid)  # warm every model's batcher
    rows = []
    for index in range(INVOKE_ROUNDS):
        if index % 2:
            many = wrk_requests_per_s(url, paths, pid)
            one = wrk_requests_per_s(url, paths[:1], pid)
        else:
            one = wrk_requests_per_s(url, paths[:1], pid)
            many = wrk_requests_per_s(url, paths, pid)
        rows.append((one, many))
    return rows


def _load(client: httpx.Client, name: str, model_dir: Path) -> float:
    started = time.perf_counter()
    answer = client.post("/models", json={"model_name": name, "url": str(model_dir)})
    seconds = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"loading {name}: {answer.status_code} {answer.text}")
    return seconds


def _range(values: list[float], scale: float = 1.0) -> str:
    return f"{min(values) * scale:.0f}-{max(values) * scale:.0f}"


if __name__ == "__main__":
    main()
