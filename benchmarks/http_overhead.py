"""Warm cost of one HTTP API 2.0 `POST /predict` event: predictor's handler against peers, in one process.

Two figures, on the same event and the same iris ONNX model. The adapter's own share:
predictor ÷ a raw handler around the example's own `predict` (its pydantic models out,
the same encoder), target ≤ 1.1x. The overall ratio: predictor ÷ the raw floor, hand-written
with the same pydantic parse and session and orjson for the body. Both raw handlers' bodies
must equal predictor's byte for byte. Each sample is timed on the wall clock and on this
process's CPU time (every handler here runs on the calling thread but the tutorial's sync
FastAPI route, whose worker thread the CPU time counts too); the target is read on CPU time, which
other processes' load on a shared machine moves far less. Also times a fresh process from start
to handler ready.
"""

from __future__ import annotations

import copy
import gc
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._timing import fresh_process, interleaved_clocks, median, ratio, table, versions

ROOT = Path(__file__).resolve().parents[1]
FUNCTION_DIR = ROOT / "functions" / "iris"
MODEL_DIR = FUNCTION_DIR / "model"
# `sam local generate-event apigateway http-api-proxy`, routed to POST /predict with a JSON body.
EVENT_FILE = Path(__file__).with_name("http_api_v2_predict.json")
TARGET = 1.1
BATCH = 16
# Many short rounds: on a shared 2-core box, load comes in bursts of seconds.
ROUNDS = 15
SECONDS_PER_ROUND = 0.04
FRESH_RUNS = 5
PINNED = ("pydantic", "onnxruntime", "numpy", "orjson", "fastapi", "mangum", "aws-lambda-powertools")

RAW = "raw handler (orjson)"
OURS = "predictor (functions/iris)"
RAW_MODELS = "raw handler around the example's predict (pydantic models out)"
FLOWERS = [
    {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
    {"sepal_length": 6.4, "sepal_width": 3.2, "petal_length": 4.5, "petal_width": 1.5},
    {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5},
]

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of Lambda's context object that handlers read."""

    aws_request_id: str = "6f1c7a52-2a3e-4c1b-9d6e-0c8f3e5b7a10"
    function_name: str = "iris"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:iris"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def predict_event(instances: int) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(EVENT_FILE.read_text())
    if instances != 1:
        event = copy.deepcopy(event)
        rows = [FLOWERS[i % len(FLOWERS)] for i in range(instances)]
        event["body"] = json.dumps({"instances": rows}, separators=(",", ":"))
    return event


def build_handlers() -> dict[str, Handler]:
    from benchmarks.peers import fastapi_mangum, powertools, raw, raw_models
    from predictor._loading import load_predictor_class
    from predictor.aws_lambda import LambdaHandler

    return {
        RAW: raw.build(MODEL_DIR),
        OURS: LambdaHandler.for_predictor(load_predictor_class(str(FUNCTION_DIR))),
        RAW_MODELS: raw_models.build(FUNCTION_DIR),
        "Powertools APIGatewayHttpResolver": powertools.build(MODEL_DIR),
        "FastAPI+Mangum, async def, lifespan off": fastapi_mangum.build_tuned(MODEL_DIR),
        "FastAPI+Mangum, def, lifespan auto (tutorial)": fastapi_mangum.build_naive(MODEL_DIR),
    }


def check_same_answers(handlers: dict[str, Handler], event: dict[str, Any]) -> None:
    """Refuse to time handlers that do not all answer the event with the same predictions."""
    answers, bodies = {}, {}
    for name, handler in handlers.items():
        response = handler(event, LambdaContext())
        if response.get("statusCode") != 200:
            raise RuntimeError(f"{name} answered {response.get('statusCode')}: {response.get('body')}")
        bodies[name] = response["body"]
        answers[name] = json.loads(response["body"])["predictions"]
    # The floor must write the very bytes predictor writes, or it is not the same work.
    for name in (OURS, RAW_MODELS):
        if bodies[name] != bodies[RAW]:
            raise RuntimeError(f"the raw handler wrote {bodies[RAW][:300]!r}, {name} {bodies[name][:300]!r}")
    expected = answers[RAW]
    for name, predictions in answers.items():
        if len(predictions) != len(expected) or not all(map(same_prediction, predictions, expected)):
            raise RuntimeError(f"{name} predicted {predictions}, the raw handler {expected}")


def same_prediction(got: dict[str, Any], want: dict[str, Any]) -> bool:
    return got["label"] == want["label"] and all(
        math.isclose(got["probabilities"][label], p, abs_tol=1e-6)
        for label, p in want["probabilities"].items()
    )


def warm_samples(
    handlers: dict[str, Handler], instances: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds per event, in the same interleaved rounds."""
    event, context = predict_event(instances), LambdaContext()
    check_same_answers(handlers, event)
    cases = {name: (lambda h=handler: h(event, context)) for name, handler in handlers.items()}
    return interleaved_clocks(cases, rounds=ROUNDS, seconds_per_round=SECONDS_PER_ROUND)


def warm_table(handlers: dict[str, Handler]) -> tuple[str, list[bool]]:
    # What every handler made at build time (six stacks in one process) leaves the collector's
    # walks, as each would be frozen at the end of its own Lambda init: otherwise a full
    # collection over all six heaps lands in whichever sample crosses the threshold.
    gc.collect()
    gc.freeze()
    try:
        clocks = {size: warm_samples(handlers, size) for size in (1, BATCH)}
    finally:
        gc.unfreeze()
    by_size = {size: wall for size, (wall, _) in clocks.items()}
    rows, verdicts = [], []
    for name in handlers:
        row = [name]
        for samples in by_size.values():
            times = ratio(samples[name], samples[RAW])
            row += [f"{median(samples[name]) * 1e6:,.1f}", f"{times:.2f}x"]
        rows.append(row)
    headers = ["implementation", "1 instance µs", "x raw", f"{BATCH} instances µs", "x raw"]
    lines = [table(headers, rows), ""]
    for size, (wall, cpu) in clocks.items():
        figures = []
        for clock, samples in (("wall", wall), ("CPU", cpu)):
            share = [ours / raw for ours, raw in zip(samples[OURS], samples[RAW_MODELS], strict=True)]
            overall = [ours / raw for ours, raw in zip(samples[OURS], samples[RAW], strict=True)]
            if clock == "CPU":
                verdicts.append(median(share) <= TARGET)
            figures.append(
                f"  {clock}: the adapter's own share, predictor ÷ raw around the example's predict = "
                f"{median(share):.2f}x ({min(share):.2f}-{max(share):.2f} per round); overall, "
                f"predictor ÷ raw (orjson) = {median(overall):.2f}x ({min(overall):.2f}-{max(overall):.2f})"
            )
        verdict = "PASS" if verdicts[-1] else "MISS"
        lines += [f"{size} instance(s), target ≤ {TARGET}x on CPU time: {verdict}", *figures]
    return "\n".join(lines), verdicts


READY_PROBE = """
import time
started = time.perf_counter()
import json, sys
{build}
ready = time.perf_counter() - started
with open({event!r}) as file:
    answer = handler(json.load(file), None)
assert answer["statusCode"] == 200, answer
print(json.dumps({{"ready_s": ready, "fastapi": "fastapi" in sys.modules}}))
"""


def peer_build(module: str, builder: str) -> str:
    return (
        f"from pathlib import Path\nfrom benchmarks.peers import {module}\n"
        f"handler = {module}.{builder}(Path({str(MODEL_DIR)!r}))"
    )


FRESH_CASES = {
    RAW: (ROOT, peer_build("raw", "build")),
    # As Lambda does: the function directory is the working directory and on sys.path.
    OURS: (FUNCTION_DIR, "from app import handler"),
    "FastAPI+Mangum, def, lifespan auto (tutorial)": (ROOT, peer_build("fastapi_mangum", "build_naive")),
}


def ready_table() -> str:
    ready: dict[str, list[float]] = {name: [] for name in FRESH_CASES}
    wall: dict[str, list[float]] = {name: [] for name in FRESH_CASES}
    fastapi: dict[str, bool] = {}
    for _ in range(FRESH_RUNS):
        for name, (cwd, build) in FRESH_CASES.items():
            seconds, report = fresh_process(READY_PROBE.format(build=build, event=str(EVENT_FILE)), cwd=cwd)
            wall[name].append(seconds)
            ready[name].append(report["ready_s"])
            fastapi[name] = fastapi.get(name, False) or report["fastapi"]
    rows = [
        [
            name,
            f"{median(ready[name]) * 1e3:.0f}",
            f"{median(wall[name]) * 1e3:.0f}",
            f"{ratio(wall[name], wall[RAW]):.2f}x",
            "yes" if fastapi[name] else "no",
        ]
        for name in FRESH_CASES
    ]
    headers = ["implementation", "start → ready ms", "process wall ms", "x raw", "fastapi after /predict"]
    return table(headers, rows)


def main() -> None:
    print("warm HTTP overhead: HTTP API 2.0 POST /predict, iris ONNX, one process")
    print(f"median µs per event over {ROUNDS} interleaved rounds; x raw = median of per-round ratios")
    print(versions(*PINNED))
    print()
    warm, verdicts = warm_table(build_handlers())
    print(warm)
    print()
    print(f"time to ready: fresh process to handler built, median of {FRESH_RUNS} runs")
    print(ready_table())
    print()
    figure = "PASS" if all(verdicts) else "MISS"
    print(
        f"{figure}: predictor ÷ raw around the example's predict must be ≤ {TARGET}x "
        f"at 1 and {BATCH} instances"
    )


if __name__ == "__main__":
    main()
