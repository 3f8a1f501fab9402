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
TARGET_MS = 50

# The example's setup by hand (functions/iris/app.py and predictor.onnx_session), no package.
BASELINE = textwrap.dedent(
    """
    import json, numpy, onnxruntime, boto3, pydantic
    from pathlib import Path
    from typing import Literal
    from pydantic import BaseModel, Field, TypeAdapter
    Species = Literal["setosa", "versicolor", "virginica"]
    class Features(BaseModel):
        sepal_length: float = Field(gt=0, lt=100)
        sepal_width: float = Field(gt=0, lt=100)
        petal_length: float = Field(gt=0, lt=100)
        petal_width: float = Field(gt=0, lt=100)
    class Prediction(BaseModel):
        label: Species
        probabilities: dict[Species, float]
    model = Path("functions/iris/model")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    cpu = ["CPUExecutionProvider"]
    session = onnxruntime.InferenceSession(str(model / "model.onnx"), options, providers=cpu)
    session.run(None, {"X": numpy.zeros((1, 4), dtype=numpy.float32)})
    labels = json.loads((model / "labels.json").read_text())
    predictions = TypeAdapter(list[Prediction])
    if MAKE_CLIENT:
        s3 = boto3.session.Session().client("s3")
    print(json.dumps({}))
    """
)

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
            "baseline": (BASELINE.replace("MAKE_CLIENT", "False"), env),
            "baseline_client": (BASELINE.replace("MAKE_CLIENT", "True"), env),
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
    bare, baseline = median(seconds["bare"]), median(seconds["baseline"])
    rows = []
    for name, label in (
        ("bare", "import numpy, onnxruntime, boto3"),
        ("baseline", "baseline: bare + pydantic + the example's setup by hand"),
        ("baseline_client", "  the same, S3 client made"),
        ("event_init", "event function (OUTPUT_URI set): init, S3 client made"),
        ("event_first", "  the same, through its first S3 event"),
        ("http_init", "HTTP-only function (no OUTPUT_URI): init"),
    ):
        report = reports[name]
        stack = ", ".join(report.get("http_stack", [])) or "none"
        loaded = (
            "-"
            if "boto3" not in report
            else f"boto3 {'yes' if report['boto3'] else 'no'}; HTTP stack: {stack}"
        )
        rows.append(
            [
                label,
                f"{median(seconds[name]) * 1e3:.0f}",
                f"{(median(seconds[name]) - bare) * 1e3:+.0f}",
                f"{(median(seconds[name]) - baseline) * 1e3:+.0f}",
                loaded,
            ]
        )
    print(table(["fresh process to ready", "ms", "vs bare imports, ms", "vs baseline, ms", "imported"], rows))
    over = [ours - base for ours, base in zip(seconds["event_init"], seconds["baseline"], strict=True)]
    met = median(over) * 1e3 <= TARGET_MS and not reports["event_init"]["http_stack"]
    print(
        f"event-path init - baseline: {median(over) * 1e3:+.0f} ms, per round {min(over) * 1e3:+.0f} to "
        f"{max(over) * 1e3:+.0f} ms (target ≤ +{TARGET_MS} ms, FastAPI never imported: "
        f"{'PASS' if met else 'MISS'}); median of {ROUNDS} interleaved rounds, each a fresh process "
        "(interpreter start included in every row)"
    )
    print(versions("boto3", "numpy", "onnxruntime", "pydantic"))
