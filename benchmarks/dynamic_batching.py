"""The digits model under 64 concurrent single-instance clients: what dynamic batching buys.

Served instances/s with batching against the combined ceiling 1/(1/P + 1/H), both measured
in every round: P is in-process `predict` at the batch size the server actually formed (read
from its shutdown summary), H a minimal Starlette app on the same server stack (uvicorn,
uvloop, httptools) that reads and validates the same body with the function's own input model
and answers a constant (benchmarks/serving_peers/starlette_constant.py): the server can at best
do H's work and P's work one after the other for every instance. Targets: served ≥ 0.8x the
ceiling, p99 ≤ 2x p50. Also shown: served ÷ P alone, p50/p99 beside the same server with
batching off (PREDICTOR_BATCH_SIZE=1), and the batching server writing no line per request
(PREDICTOR_OBSERVABILITY=off, PREDICTOR_ACCESS_LOG=off), since H writes none: as shipped, the server
writes one JSON log line per request and gathers its metrics into a few EMF lines a second.
wrk's own CPU per request is shown beside the server's: the load generator must cost far less
than what it loads.
"""

from __future__ import annotations

import functools
import json
import re
import statistics
import time

from benchmarks._serving import ROOT, Load, Server, free_port, rotate, run_wrk, wrk_available
from benchmarks._timing import interleaved, ratio, table, versions

DIGITS = ROOT / "functions" / "digits"
CONNECTIONS = 64
ROUNDS = 3
SECONDS = 4
PIXELS = [0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0] * 8
BODY = json.dumps({"instances": [{"pixels": PIXELS}]}).encode()
BATCHED, UNBATCHED = "dynamic batching (size 64)", "batching off (size 1)"
FLOOR = "H: Starlette, validate, constant answer"
QUIET = "dynamic batching, no line per request"
CEILING_TARGET = 0.8
TAIL_TARGET = 2.0


def digits_server(name: str, batch_size: int) -> Server:
    command = [str(ROOT / ".venv" / "bin" / "predictor"), "serve", str(DIGITS), "--port", "{port}"]
    return Server(name, command, "/invocations", BODY, env={"PREDICTOR_BATCH_SIZE": str(batch_size)})


def quiet_server() -> Server:
    """The batching server writing no line per request (H writes none): no request log line, no
    metrics, and no access log line in their place."""
    server = digits_server(QUIET, 64)
    server.env = {**server.env, "PREDICTOR_OBSERVABILITY": "off", "PREDICTOR_ACCESS_LOG": "off"}
    return server


def constant_server() -> Server:
    python = str(ROOT / ".venv" / "bin" / "python")
    module = "benchmarks.serving_peers.starlette_constant"
    return Server(FLOOR, [python, "-m", module, str(DIGITS), "{port}"], "/invocations", BODY)


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
    servers = [digits_server(BATCHED, 64), digits_server(UNBATCHED, 1), quiet_server(), constant_server()]
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
            for server in rotate(servers, index):
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
    at_formed = [in_process.instances_per_s(formed, index) for index in range(ROUNDS)]
    floor = [load.requests_per_s for load in loads[FLOOR]]
    ceilings = [1 / (1 / p + 1 / h) for p, h in zip(at_formed, floor, strict=True)]
    shares = [s / c for s, c in zip(served, ceilings, strict=True)]
    share = statistics.median(shares)
    print(
        f"combined ceiling 1/(1/P + 1/H), P = predict at batch {formed:.1f}, H = {FLOOR}: "
        f"{statistics.median(ceilings):,.0f} instances/s; served ÷ ceiling = {share:.2f}x "
        f"(rounds {_range(shares)}; target ≥ {CEILING_TARGET}x: {_verdict(share >= CEILING_TARGET)})"
    )
    quiet = [load.requests_per_s for load in loads[QUIET]]
    quiet_shares = [s / c for s, c in zip(quiet, ceilings, strict=True)]
    print(
        f"{QUIET} ÷ ceiling = {statistics.median(quiet_shares):.2f}x (rounds {_range(quiet_shares)}): "
        "what the request's log line and metrics take, which H does not write"
    )
    tails = [load.p99_ms / load.p50_ms for load in loads[BATCHED] if load.p50_ms]
    print(
        f"dynamic batching p99 ÷ p50 = {statistics.median(tails):.2f}x (rounds {_range(tails)}; "
        f"target ≤ {TAIL_TARGET}x: {_verdict(statistics.median(tails) <= TAIL_TARGET)})"
    )
    one_batch_ms = formed / statistics.median(at_formed) * 1e3
    print(f"one batch of {formed:.1f} in-process: {one_batch_ms:.1f} ms")
    print(f"medians of {ROUNDS} interleaved {SECONDS} s rounds; ratios are medians of per-round ratios")
    print(versions("uvicorn", "uvloop", "httptools", "starlette", "onnxruntime", "numpy", "pydantic"))


def _range(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def _verdict(met: bool) -> str:
    return "PASS" if met else "MISS"
