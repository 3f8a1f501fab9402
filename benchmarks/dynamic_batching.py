"""The digits model under 64 concurrent single-instance clients: what dynamic batching buys.

Served instances/s with batching ÷ in-process `predict` at the batch size the server
actually formed (read from its shutdown summary) and at the largest batch; p50/p99
latency beside the same server with batching off (PREDICTOR_BATCH_SIZE=1). Target ≥ 0.8x,
and p99 ≤ the longest wait to fill a batch (0 ms here) + one batch. wrk's own CPU per
request is shown beside the server's: the load generator must cost far less than what it loads.
"""

from __future__ import annotations

import functools
import json
import re
import statistics
import time

from benchmarks._serving import ROOT, Load, Server, free_port, run_wrk, wrk_available
from benchmarks._timing import interleaved, ratio, table, versions

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


class InProcess:
    """In-process `predict` on the same model, timed in every round between the servers' loads so
    it meets the same neighbours on this shared machine; a batch size between the sizes timed
    is read off the line between its neighbours."""

    SIZES = (1, 8, 16, 24, 32, 40, 48, 56, 64)

    def __init__(self) -> None:
        from predictor._loading import load_predictor_class
        from predictor.runtime import started_runtime

        self.runtime = started_runtime(load_predictor_class(str(DIGITS)))
        envelope = {"instances": [{"pixels": PIXELS}] * max(self.SIZES)}
        instances = self.runtime.codec.decode(json.dumps(envelope).encode(), None)
        self.batches = {size: instances[:size] for size in self.SIZES}
        self.rounds: list[dict[int, float]] = []

    def time_round(self) -> None:
        cases = {
            str(size): functools.partial(self.runtime.run, batch) for size, batch in self.batches.items()
        }
        seconds = interleaved(cases, rounds=1, seconds_per_round=0.15)
        self.rounds.append({size: size / seconds[str(size)][0] for size in self.SIZES})

    def instances_per_s(self, size: float, round_index: int) -> float:
        rates = self.rounds[round_index]
        below = max(s for s in self.SIZES if s <= size)
        above = min((s for s in self.SIZES if s >= size), default=below)
        if above == below:
            return rates[below]
        share = (size - below) / (above - below)
        return rates[below] + share * (rates[above] - rates[below])


def main() -> None:
    if not wrk_available():
        print("skipping dynamic_batching: wrk is not installed (apt-get install -y wrk)", flush=True)
        return
    servers = [digits_server(BATCHED, 64), digits_server(UNBATCHED, 1)]
    in_process = InProcess()
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
            in_process.time_round()
    finally:
        for server in servers:
            server.stop()
    time.sleep(0.5)
    formed = mean_batch(servers[0]) or 64.0
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
    served = [load.requests_per_s for load in loads[BATCHED]]
    print(f"mean batch the server formed: {formed:.1f} instances per predict call")
    for size in (1, formed, 64):
        rates = [in_process.instances_per_s(size, index) for index in range(ROUNDS)]
        print(
            f"in-process predict at batch {size:.1f}: {statistics.median(rates):,.0f} instances/s "
            f"(timed in the same rounds); served with batching ÷ it = {ratio(served, rates):.2f}x"
        )
    one_batch_ms = (
        formed / statistics.median(in_process.instances_per_s(formed, index) for index in range(ROUNDS)) * 1e3
    )
    print(f"one batch of {formed:.1f} in-process: {one_batch_ms:.1f} ms (p99 target: ≤ 0 ms wait + that)")
    print("target: served with batching ≥ 0.8x in-process predict at the batch size formed")
    print(versions("uvicorn", "uvloop", "onnxruntime", "numpy", "pydantic"))
