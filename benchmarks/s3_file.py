"""A JSON Lines file through the S3 path (moto) against the same work in-process with no S3.

project: the Lambda handler on an S3 notification, in a fresh process: stream the object,
validate, predict in PREDICTOR_BATCH_SIZE chunks, encode, multipart-upload `.out`, manifest.
baseline: the same bytes from memory, split into the same chunks, validated with the same
model, predicted and encoded, with no S3. Peak RSS is the fresh process's VmHWM.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

from benchmarks._timing import fresh_process, table, versions
from benchmarks.moto import moto_server

REPO = Path(__file__).resolve().parents[1]
LINES = int(os.environ.get("S3_BENCH_LINES", "1000000"))
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}

PROJECT = textwrap.dedent(
    """
    import json, sys, time
    from predictor._loading import load_predictor_class
    from predictor.aws_lambda import LambdaHandler
    from predictor.runtime import Runtime
    bucket = sys.argv[1]
    runtime = Runtime(load_predictor_class("functions/iris"), environ={"OUTPUT_URI": f"s3://{bucket}/out/"})
    runtime.start()
    handler = LambdaHandler(runtime)
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
              "s3": {"bucket": {"name": bucket}, "object": {"key": "rows.jsonl"}}}]}
    start = time.perf_counter()
    answer = handler(event, None)
    seconds = time.perf_counter() - start
    peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print(json.dumps({"seconds": seconds, "records": answer["results"][0]["records"], "peak_kib": peak}))
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
    validate = iris_class.input_model.model_validate_json
    serializer = iris_class.output_model.__pydantic_serializer__
    out = io.BytesIO()
    start = time.perf_counter()
    records, pending, batch = 0, b"", []
    def flush():
        out.write(b"".join(b'{"prediction":' + serializer.to_json(p) + b"}\\n" for p in iris.predict(batch)))
        batch.clear()
    for offset in range(0, len(data), 1 << 20):
        lines = (pending + data[offset : offset + (1 << 20)]).split(b"\\n")
        pending = lines.pop()
        for line in lines:
            if line.strip():
                batch.append(validate(line))
                records += 1
                if len(batch) == 256:
                    flush()
    if batch:
        flush()
    print(json.dumps({"seconds": time.perf_counter() - start, "records": records}))
    """
)


def main() -> None:
    rows = "".join(json.dumps(SETOSA if n % 2 else VIRGINICA) + "\n" for n in range(LINES)).encode()
    path = Path("/tmp/predictor-bench-rows.jsonl")
    path.write_bytes(rows)
    with moto_server() as env:
        import boto3

        s3 = boto3.session.Session().client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket="bench")
        s3.upload_file(str(path), "bench", "rows.jsonl")
        _, project = fresh_process(PROJECT.replace("sys.argv[1]", "'bench'"), cwd=REPO, env=env)
        _, baseline = fresh_process(BASELINE.replace("sys.argv[1]", repr(str(path))), cwd=REPO)
    path.unlink()
    assert project["records"] == baseline["records"] == LINES, (project, baseline)
    print(
        table(
            ["path", "rows/s", "seconds", "peak RSS"],
            [
                [
                    "project, S3 on moto",
                    f"{LINES / project['seconds']:,.0f}",
                    f"{project['seconds']:.1f}",
                    f"{project['peak_kib'] / 1024:.0f} MiB",
                ],
                [
                    "baseline, in-process",
                    f"{LINES / baseline['seconds']:,.0f}",
                    f"{baseline['seconds']:.1f}",
                    "-",
                ],
            ],
        )
    )
    print(
        f"file: {LINES:,} lines, {len(rows) / 2**20:.0f} MiB; project ÷ baseline rows/s: "
        f"{baseline['seconds'] / project['seconds']:.2f}x (target >= 0.8x); one run each"
    )
    print(versions("boto3", "moto", "onnxruntime", "pydantic"))
