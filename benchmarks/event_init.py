"""Event-path init: a fresh process to the handler ready, against importing what it must import.

project: `import app` for the iris example with OUTPUT_URI set, as Lambda initialises an event
function: the predictor's setup runs and the S3 client is made (it is not left to the first
event). bare imports: `import numpy, onnxruntime, boto3`, nothing else. Also timed: the same
event function through its first S3 event (a one-line file on moto), and the example as an
HTTP-only function (no OUTPUT_URI: boto3 is never imported). Each figure is a fresh process,
spawn to the line it prints when ready; medians of interleaved rounds.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

from benchmarks._timing import fresh_process, median, table, versions
from benchmarks.moto import moto_server, s3_client

REPO = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("EVENT_INIT_ROUNDS", "7"))
HTTP_STACK = ("fastapi", "starlette", "mangum")

BARE = "import json, numpy, onnxruntime, boto3; print(json.dumps({}))"

FUNCTION = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, "functions/iris")
    from app import handler
    answer = None
    if FIRST_EVENT:
        event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                  "s3": {"bucket": {"name": "bench"}, "object": {"key": "one.jsonl"}}}]}
        answer = handler(event, None)["results"][0]["records"]
    stack = sorted(name for name in HTTP_STACK if name in sys.modules)
    print(json.dumps({"records": answer, "http_stack": stack, "boto3": "boto3" in sys.modules}))
    """
).replace("HTTP_STACK", repr(HTTP_STACK))


def main() -> None:
    with moto_server() as env:
        s3 = s3_client(env)
        s3.create_bucket(Bucket="bench")
        row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
        s3.put_object(Bucket="bench", Key="one.jsonl", Body=json.dumps(row).encode() + b"\n")
        event_env = {**env, "OUTPUT_URI": "s3://bench/out/"}
        cases: dict[str, tuple[str, dict[str, str]]] = {
            "bare": (BARE, env),
            "event_init": (FUNCTION.replace("FIRST_EVENT", "False"), event_env),
            "event_first": (FUNCTION.replace("FIRST_EVENT", "True"), event_env),
            "http_init": (FUNCTION.replace("FIRST_EVENT", "False"), env),
        }
        seconds: dict[str, list[float]] = {name: [] for name in cases}
        reports: dict[str, dict[str, Any]] = {}
        names = list(cases)
        for index in range(ROUNDS):
            for name in names[index % len(names) :] + names[: index % len(names)]:
                code, case_env = cases[name]
                wall, reports[name] = fresh_process(code, cwd=REPO, env=case_env)
                seconds[name].append(wall)
    assert reports["event_first"]["records"] == 1, reports["event_first"]
    bare = median(seconds["bare"])
    rows = []
    for name, label in (
        ("bare", "import numpy, onnxruntime, boto3"),
        ("event_init", "event function (OUTPUT_URI set): init, S3 client made"),
        ("event_first", "  the same, through its first S3 event"),
        ("http_init", "HTTP-only function (no OUTPUT_URI): init"),
    ):
        report = reports[name]
        stack = ", ".join(report.get("http_stack", [])) or "none"
        loaded = "-" if name == "bare" else f"boto3 {'yes' if report['boto3'] else 'no'}; HTTP stack: {stack}"
        rows.append(
            [
                label,
                f"{median(seconds[name]) * 1e3:.0f}",
                f"{(median(seconds[name]) - bare) * 1e3:+.0f}",
                loaded,
            ]
        )
    print(table(["fresh process to ready", "ms", "vs bare imports, ms", "imported"], rows))
    print(
        f"median of {ROUNDS} interleaved rounds, each a fresh process (interpreter start included in every "
        "row); target: event-path init <= bare imports + 50 ms, FastAPI never imported"
    )
    print(versions("boto3", "numpy", "onnxruntime", "pydantic"))
