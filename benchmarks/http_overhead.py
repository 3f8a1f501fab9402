"""Warm cost of one HTTP API 2.0 `POST /predict` event: predictor's handler against peers, in one process.

Figures on the same event and the same iris ONNX model. Observability is on by default
(a Powertools log line and EMF metrics per request), and neither raw handler below logs,
so the adapter's figures time predictor with PREDICTOR_OBSERVABILITY=off, like with like.
The adapter's own share: predictor (observability off) ÷ a raw handler around the example's
own `predict` (its pydantic models out, the same encoder), target ≤ 1.1x. The overall
ratio: predictor (observability off) ÷ the raw floor, hand-written with the same pydantic
parse and session and orjson for the body. What observability costs: predictor as
deployed (on) ÷ the raw floor writing the same log line and EMF metrics by hand with
Powertools, target ≤ 1.1x; and predictor on ÷ off. Every raw handler's body must equal
predictor's byte for byte. Every log and metric line goes to /dev/null.

Each sample is timed on the wall clock and on this process's CPU time (every handler here
runs on the calling thread but the tutorial's sync FastAPI route, whose worker thread the
CPU time counts too); each ratio is the median of the per-round ratios, with their range,
and the targets are read on CPU time, which other processes' load on a shared machine moves
far less. Also times a fresh process from start to handler ready (observability on).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import math
import os
import sys
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
OURS_OFF = "predictor, PREDICTOR_OBSERVABILITY=off"
RAW_OBSERVED = "raw handler + Powertools log line and EMF by hand"
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


def build_handlers(sink: Any) -> dict[str, Handler]:
    """Built while standard output is `sink`, so that the loggers write there."""
    from benchmarks.peers import fastapi_mangum, powertools, raw, raw_models, raw_observed
    from predictor._loading import load_predictor_class
    from predictor.aws_lambda import LambdaHandler
    from predictor.aws_lambda._settings import EventSettings
    from predictor.runtime import Runtime

    iris = load_predictor_class(str(FUNCTION_DIR))
    # Its own runtime: `for_predictor` reuses the one already started for the class, whose
    # observability is on.
    environ = {**os.environ, "PREDICTOR_OBSERVABILITY": "off"}
    quiet = Runtime(iris, environ=environ)
    quiet.start()
    return {
        RAW: raw.build(MODEL_DIR),
        OURS: LambdaHandler.for_predictor(iris),
        OURS_OFF: LambdaHandler(quiet, EventSettings.from_environ(environ)),
        RAW_OBSERVED: raw_observed.build(MODEL_DIR, sink),
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
    for name in (OURS, OURS_OFF, RAW_OBSERVED, RAW_MODELS):
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


Clocks = dict[int, tuple[dict[str, list[float]], dict[str, list[float]]]]


def loggers_back(sink: Any, stream: Any) -> None:
    """Point the log handlers made to write to `sink` (standard output while it was redirected) at
    `stream`: the benchmarks after this one run in the same process, once `sink` is closed."""
    import logging

    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", ()):
            if isinstance(handler, logging.StreamHandler) and handler.stream is sink:
                handler.setStream(stream)


def warm_clocks() -> Clocks:
    """Wall and CPU samples at 1 and BATCH instances, every handler built first; the log and
    metric lines go to /dev/null."""
    stdout = sys.stdout
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        handlers = build_handlers(sink)
        # What every handler made at build time (eight stacks in one process) leaves the
        # collector's walks, as each would be frozen at the end of its own Lambda init: otherwise
        # a full collection over all eight heaps lands in whichever sample crosses the threshold.
        gc.collect()
        gc.freeze()
        try:
            return {size: warm_samples(handlers, size) for size in (1, BATCH)}
        finally:
            gc.unfreeze()
            loggers_back(sink, stdout)


def warm_table(clocks: Clocks) -> str:
    """Median µs per event on the wall clock, and ÷ the raw floor."""
    by_size = {size: wall for size, (wall, _) in clocks.items()}
    rows = []
    for name in by_size[1]:
        row = [name]
        for samples in by_size.values():
            times = ratio(samples[name], samples[RAW])
            row += [f"{median(samples[name]) * 1e6:,.1f}", f"{times:.2f}x"]
        rows.append(row)
    headers = ["implementation", "1 instance µs", "x raw", f"{BATCH} instances µs", "x raw"]
    return table(headers, rows)


#: (what it shows, case, its baseline, the target or None), each as per-round ratios. With the
#: adapter timed observability off, the overall ratio is also observability off ÷ raw.
RATIOS = (
    (
        "the adapter's own share: predictor, observability off ÷ raw around the example's predict",
        OURS_OFF,
        RAW_MODELS,
        TARGET,
    ),
    ("overall, and observability off: predictor, observability off ÷ raw (orjson)", OURS_OFF, RAW, None),
    ("observability on: predictor ÷ raw + Powertools log line and EMF by hand", OURS, RAW_OBSERVED, TARGET),
    ("what observability adds: predictor ÷ predictor, observability off", OURS, OURS_OFF, None),
)


def ratio_table(clocks: Clocks) -> tuple[str, list[bool]]:
    """Median and range of the per-round ratios on both clocks: the machine is shared, so the
    spread is shown; each target is read on CPU time."""
    rows, verdicts = [], []
    for label, case, baseline, target in RATIOS:
        row, met = [label], []
        for wall, cpu in clocks.values():
            for clock, samples in (("CPU", cpu), ("wall", wall)):
                per_round = [a / b for a, b in zip(samples[case], samples[baseline], strict=True)]
                row.append(f"{median(per_round):.2f}x ({min(per_round):.2f}-{max(per_round):.2f})")
                if target is not None and clock == "CPU":
                    met.append(median(per_round) <= target)
        verdicts += met
        row.append(("PASS" if all(met) else "MISS") if target is not None else "")
        rows.append(row)
    headers = ["ratio"]
    headers += [f"{size} instance(s) {clock}" for size in clocks for clock in ("CPU", "wall")]
    headers.append(f"≤ {TARGET}x on CPU")
    return table(headers, rows), verdicts


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
    print(f"median wall µs per event over {ROUNDS} interleaved rounds; x raw = median of per-round ratios")
    print(versions(*PINNED))
    print()
    clocks = warm_clocks()
    print(warm_table(clocks))
    print()
    print("ratios: median of the per-round ratios (lowest-highest round), on CPU time and wall")
    ratios, verdicts = ratio_table(clocks)
    print(ratios)
    print()
    print(f"time to ready: fresh process to handler built, median of {FRESH_RUNS} runs")
    print(ready_table())
    print()
    figure = "PASS" if all(verdicts) else "MISS"
    print(
        f"{figure}: on CPU time at 1 and {BATCH} instances, predictor (observability off) ÷ raw around "
        f"the example's predict and predictor ÷ raw logging and measuring by hand must be ≤ {TARGET}x"
    )


if __name__ == "__main__":
    main()
