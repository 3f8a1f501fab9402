"""A JSON Lines file through the S3 path, on moto and on s3rver, against the same work in-process
with no S3.

project: the Lambda handler on an S3 notification, in a fresh process, timed from the event (init,
where setup runs and the S3 client is made, is not counted): stream the object,
validate, predict in PREDICTOR_BATCH_SIZE chunks, encode, multipart-upload `.out`, manifest.
baseline: the same bytes from memory, split into the same chunks, validated with the same
model as the project does (a chunk's lines in one call), predicted and encoded, with no S3; like
the project at the end of a Lambda init, it freezes what it made before timing (`gc.freeze()`), so
the ratio counts the S3 path alone. Reference rows: validating line by line, and the baseline
without the freeze. Peak RSS is the fresh process's VmHWM. Both S3 servers run on loopback
and share the machine's cores with the project: moto (Python) costs more CPU per request than
s3rver (Node.js), so the two bracket what the S3 server takes from the path's own time.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

from benchmarks._lambda import lambda_env
from benchmarks._timing import fresh_process, median, table, versions
from benchmarks.moto import moto_server, s3_client
from benchmarks.s3rver import S3rver
from benchmarks.s3rver import version as s3rver_version

REPO = Path(__file__).resolve().parents[1]
LINES = int(os.environ.get("S3_BENCH_LINES", "1000000"))
ROUNDS = int(os.environ.get("S3_BENCH_ROUNDS", "3"))
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}

PROJECT = textwrap.dedent(
    """
    import json, os, sys, time
    bucket = sys.argv[1]
    os.environ["OUTPUT_URI"] = f"s3://{bucket}/out/"
    sys.path.insert(0, "functions/iris")
    from app import handler  # init, as on Lambda: setup runs and the S3 client is made
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
              "s3": {"bucket": {"name": bucket}, "object": {"key": "rows.jsonl"}}}]}
    start, cpu = time.perf_counter(), time.process_time()
    answer = handler(event, None)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    records = answer["results"][0]["records"]
    print(json.dumps({"seconds": seconds, "cpu": cpu, "records": records, "peak_kib": peak}))
    """
)

BASELINE = textwrap.dedent(
    """
    import io, json, sys, time
    from predictor._loading import load_predictor_class
    iris_class = load_predictor_class("functions/iris")
    iris = iris_class()
    iris.setup(__import__("pathlib").Path("functions/iris/model"))
    data = open(sys.argv[1], "rb").read()
    from pydantic import Json, TypeAdapter
    validate = iris_class.input_model.model_validate_json
    together = TypeAdapter(list[Json[iris_class.input_model]]).validate_python
    PER_LINE = sys.argv[2] == "per-line"
    serializer = iris_class.output_model.__pydantic_serializer__
    if sys.argv[3] == "freeze":  # what the project does at the end of a Lambda init
        import gc
        gc.freeze()
    out = io.BytesIO()
    start, cpu = time.perf_counter(), time.process_time()
    records, pending, batch = 0, b"", []
    def flush():
        instances = [validate(line) for line in batch] if PER_LINE else together(batch)
        predictions = iris.predict(instances)
        out.write(b"".join(b'{"prediction":' + serializer.to_json(p) + b"}\\n" for p in predictions))
        batch.clear()
    for offset in range(0, len(data), 1 << 20):
        lines = (pending + data[offset : offset + (1 << 20)]).split(b"\\n")
        pending = lines.pop()
        for line in lines:
            if line.strip():
                batch.append(line)
                records += 1
                if len(batch) == 256:
                    flush()
    if batch:
        flush()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu": cpu, "records": records}))
    """
)


def main() -> None:
    rows_bytes = "".join(json.dumps(SETOSA if n % 2 else VIRGINICA) + "\n" for n in range(LINES)).encode()
    path = Path("/tmp/predictor-bench-rows.jsonl")
    path.write_bytes(rows_bytes)
    with moto_server() as env, S3rver() as s3rver:
        s3 = s3_client(env)
        s3.create_bucket(Bucket="bench")
        s3.upload_file(str(path), "bench", "rows.jsonl")
        s3rver_client = s3rver.client()
        s3rver_client.create_bucket(Bucket="bench")
        s3rver_client.upload_file(str(path), "bench", "rows.jsonl")
        baseline_code = BASELINE.replace("sys.argv[1]", repr(str(path)))
        project = PROJECT.replace("sys.argv[1]", "'bench'")
        # The project starts as on Lambda, with the variables its runtime sets.
        on_lambda = lambda_env("bench", REPO / "functions" / "iris")
        cases: dict[str, tuple[str, dict[str, str] | None]] = {
            "project": (project, {**env, **on_lambda}),
            "project_s3rver": (project, {**s3rver.env, **on_lambda}),
            "baseline": (
                baseline_code.replace("sys.argv[2]", "'together'").replace("sys.argv[3]", "'freeze'"),
                None,
            ),
            "per_line": (
                baseline_code.replace("sys.argv[2]", "'per-line'").replace("sys.argv[3]", "'freeze'"),
                None,
            ),
            "unfrozen": (
                baseline_code.replace("sys.argv[2]", "'together'").replace("sys.argv[3]", "'-'"),
                None,
            ),
        }
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
        names = list(cases)
        for round_number in range(ROUNDS):
            for name in names[round_number % len(names) :] + names[: round_number % len(names)]:
                code, case_env = cases[name]
                _, result = fresh_process(code, cwd=REPO, env=case_env)
                assert result["records"] == LINES, (name, result)
                runs[name].append(result)
    path.unlink()
    rows = []
    for name, label in (
        ("project", "project, S3 on moto"),
        ("project_s3rver", "project, S3 on s3rver"),
        ("baseline", "baseline, in-process"),
        ("per_line", "  (validating line by line)"),
        ("unfrozen", "  (collector not frozen)"),
    ):
        seconds = median([run["seconds"] for run in runs[name]])
        cpu = median([run["cpu"] for run in runs[name]])
        peak = (
            f"{max(run['peak_kib'] for run in runs[name]) / 1024:.0f} MiB"
            if "peak_kib" in runs[name][0]
            else "-"
        )
        rows.append([label, f"{LINES / seconds:,.0f}", f"{seconds:.1f}", f"{cpu:.1f}", peak])
    print(table(["path", "rows/s", "seconds", "CPU s", "peak RSS"], rows))
    print(
        f"file: {LINES:,} lines, {len(rows_bytes) / 2**20:.0f} MiB; "
        "project ÷ baseline rows/s (target >= 0.8x on both):"
    )
    for name, server in (("project", "moto"), ("project_s3rver", "s3rver")):
        ratios = [
            base["seconds"] / ours["seconds"] for ours, base in zip(runs[name], runs["baseline"], strict=True)
        ]
        verdict = "PASS" if median(ratios) >= 0.8 else "MISS"
        print(
            f"  on {server}: {median(ratios):.2f}x "
            f"({verdict}; per round: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
    print(
        f"median of {ROUNDS} interleaved rounds, each a fresh process (CPU s: the process's own, "
        "its reader and upload threads included, not the S3 server's)"
    )
    print(versions("boto3", "moto", "onnxruntime", "pydantic"), f"s3rver {s3rver_version()}")
