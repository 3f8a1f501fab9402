"""The digits model under 64 concurrent single-instance clients: what dynamic batching buys.

Served instances/s with batching ÷ in-process `predict` at the batch size the server
actually formed (read from its shutdown summary) and at the largest batch; p50/p99
latency beside the same server with batching off (PREDICTOR_BATCH_SIZE=1). Target ≥ 0.8x,
and p99 ≤ the longest wait to fill a batch (0 ms here) + one batch. wrk's own CPU per
request is shown beside the server's: the load generator must cost far less than what it loads.
"""

from __future__ import annotations

import json
import re
import statistics
import time

from benchmarks._serving import ROOT, Load, Server, free_port, run_wrk, wrk_available
from benchmarks._timing import interleaved, table, versions

DIGITS = ROOT / "functions" / "digits"
CONNECTIONS = 64
ROUNDS = 3
SECONDS = 4
PIXELS = [0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0] * 8
BODY = json.dumps({"instances": [{"pixels": PIXELS}]}).encode()
BATCHED, UNBATCHED = "dynamic batching (size 64)", "batching off (size 1)"


def digits_server(name: str, batch_size: int) -> Server:
    command = [str(ROOT / ".venv" / "bin" / "predictor"), "serve", str(DIGITS), "--port", "{port}"]
    return Server(name, command, "/invocations", BODY, env={"PREDICTOR_BATCH_SIZE": str(batch_size)})


def mean_batch(server: Server) -> float | None:
    match = re.search(r"([\d.]+) instances per call", server.output())
    return float(match.group(1)) if match else None


def in_process_instances_per_s(batch_size: int) -> float:
    from predictor._loading import load_predictor_class
    from predictor.runtime import started_runtime

    runtime = started_runtime(load_predictor_class(str(DIGITS)))
    instances = runtime.schema.parse_json(json.dumps({"instances": [{"pixels": PIXELS}] * batch_size}))
    samples = interleaved({"predict": lambda: runtime.run(instances)}, rounds=5, seconds_per_round=0.3)
    return batch_size / statistics.median(samples["predict"])


def main() -> None:
    if not wrk_available():
        print("skipping dynamic_batching: wrk is not installed (apt-get install -y wrk)", flush=True)
        return
    servers = [digits_server(BATCHED, 64), digits_server(UNBATCHED, 1)]
    loads: dict[str, list[Load]] = {server.name: [] for server in servers}
    try:
        for server in servers:
            server.port = free_port()
            server.start()
        for server in servers:
            if not server.ready():
                print(f"dynamic_batching: {server.name} did not start:\n{server.output_tail()}", flush=True)
                return
            run_wrk(server, CONNECTIONS, 1)
        for index in range(ROUNDS):
            for server in servers if index % 2 == 0 else servers[::-1]:
                loads[server.name].append(run_wrk(server, CONNECTIONS, SECONDS))
    finally:
        for server in servers:
            server.stop()
    time.sleep(0.5)
    formed = mean_batch(servers[0]) or 64.0
    baseline = {size: in_process_instances_per_s(size) for size in sorted({max(1, round(formed)), 64, 1})}
    rows = []
    for name, samples in loads.items():
        rate = statistics.median(load.requests_per_s for load in samples)
        rows.append(
            [
                name,
                f"{rate:,.0f}",
                f"{statistics.median(load.p50_ms for load in samples):.1f}",
                f"{statistics.median(load.p99_ms for load in samples):.1f}",
                f"{statistics.median(load.cpu_us_per_request for load in samples):,.0f}",
                f"{statistics.median(load.load_cpu_us_per_request for load in samples):,.0f}",
            ]
        )
    headers = ["digits, 64 clients x 1 instance", "instances/s", "p50 ms", "p99 ms", "CPU µs/inst"]
    headers.append("wrk CPU µs/req")
    print(table(headers, rows))
    served = statistics.median(load.requests_per_s for load in loads[BATCHED])
    print(f"mean batch the server formed: {formed:.1f} instances per predict call")
    for size, rate in baseline.items():
        print(
            f"in-process predict at batch {size}: {rate:,.0f} instances/s; served ÷ it = {served / rate:.2f}x"
        )
    size = max(1, round(formed))
    batch_ms = size / baseline[size] * 1e3
    print(f"one batch of {size} in-process: {batch_ms:.1f} ms (p99 target: ≤ 0 ms wait + that)")
    print("target: served with batching ≥ 0.8x in-process predict at the batch size formed")
    print(versions("uvicorn", "uvloop", "onnxruntime", "numpy", "pydantic"))
