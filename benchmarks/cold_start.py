"""Cold start to the first `/predict` answer, artifacts on s3rver: predictor against a naive app.

Each run is a fresh interpreter that imports the function, fetches its artifacts
(the iris model plus a large padding object, so the download matters), sets up and
answers one HTTP API 2.0 event. The parent times spawn → the response line on stdout,
so interpreter teardown is not counted. Target: predictor ÷ naive ≤ 0.6 in every run.
It runs on loopback and on the shaped network (see s3_network.py). BENCH_COLD_MB sets
the padding size (default 200), BENCH_COLD_RUNS the runs, BENCH_NETWORKS the networks.
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import plain_s3, s3_network, s3rver
from benchmarks._lambda import lambda_env
from benchmarks._timing import median, ratio, table, versions

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "functions" / "iris" / "model"
EVENT_FILE = Path(__file__).with_name("http_api_v2_predict.json")
BUCKET = "bench-cold-start"
PREFIX = "iris-big/"
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
TARGET = 0.6
MIB = 1 << 20
DEADLINE_S = 120.0
MARKER = "BENCH-RESPONSE "

IMPORTS = "bare import numpy, onnxruntime, boto3"
NAIVE = "naive: FastAPI+Mangum, download_file, load"
OURS = "predictor (functions/iris)"
OURS_NO_PREFETCH = "predictor, PREDICTOR_PREFETCH=0"
# A reference row: what tracing costs the cold start (the X-Ray SDK imported and a Tracer made at
# init, as on a function with `Tracing: Active`), which the naive app does not do.
OURS_UNTRACED = "predictor, POWERTOOLS_TRACE_DISABLED=true"

Case = tuple[str, dict[str, str]]


@dataclass
class Samples:
    seconds: dict[str, list[float]]
    # CPU the child used up to its answer (it is killed right after): less noisy than wall time.
    cpu: dict[str, list[float]]
    errors: dict[str, str] = field(default_factory=dict)


CHILD = """
import json, sys
sys.path.insert(0, {app_dir!r})
import app

class Context:
    aws_request_id = "6f1c7a52-2a3e-4c1b-9d6e-0c8f3e5b7a10"
    function_name = "iris"
    memory_limit_in_mb = 1769
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:iris"

    def get_remaining_time_in_millis(self):
        return 30000

with open({event!r}) as file:
    event = json.load(file)
print({marker!r} + json.dumps(app.handler(event, Context())), flush=True)
"""
BARE = f"import numpy, onnxruntime, boto3\nprint({MARKER!r} + '{{}}', flush=True)"


def main() -> None:
    load_before = os.getloadavg()[0]
    padding = int(os.environ.get("BENCH_COLD_MB", "200")) * MIB
    chosen = s3_network.selected()
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as work, s3rver.S3rver() as server:
        client = server.client()
        client.create_bucket(Bucket=BUCKET)
        for name in ("model.onnx", "labels.json"):
            client.upload_file(str(MODEL_DIR / name), BUCKET, PREFIX + name)
        plain_s3.put_random(client, BUCKET, PREFIX + "padding.bin", padding)
        print(
            f"fresh process → first POST /predict answer; artifacts s3://{BUCKET}/{PREFIX} "
            f"(model.onnx, labels.json, padding.bin {padding / MIB:.0f} MB) on s3rver {s3rver.version()}"
        )
        prefetch: dict[str, list[float]] = {}
        with s3_network.networks(server.endpoint) as networks:
            for network in networks:
                if network.name not in chosen:
                    continue
                environ = {**os.environ, **server.env, "AWS_ENDPOINT_URL_S3": network.endpoint}
                samples = _measure(cases(), environ, Path(work))
                _report(network, padding, samples)
                if not samples.errors:
                    prefetch[network.name] = _on_off(samples.seconds)
    if "shaped" in chosen:
        print(s3_network.describe())
    if len(prefetch) == 2:
        print(_prefetch_rule(prefetch["loopback"], prefetch["shaped"]))
    print(f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(versions("boto3", "numpy", "onnxruntime", "fastapi", "mangum", "pydantic"))


def cases() -> dict[str, Case]:
    """Each case: the child's code and the variables it adds; `{dir}` becomes a fresh directory."""
    ours = CHILD.format(app_dir=str(ROOT / "functions" / "iris"), event=str(EVENT_FILE), marker=MARKER)
    naive = CHILD.format(
        app_dir=str(Path(__file__).with_name("naive_app")), event=str(EVENT_FILE), marker=MARKER
    )
    return {
        IMPORTS: (BARE, {}),
        NAIVE: (naive, {"NAIVE_MODEL_DIR": "{dir}"}),
        OURS: (ours, {"PREDICTOR_CACHE_DIR": "{dir}"}),
        OURS_NO_PREFETCH: (ours, {"PREDICTOR_CACHE_DIR": "{dir}", "PREDICTOR_PREFETCH": "0"}),
        OURS_UNTRACED: (ours, {"PREDICTOR_CACHE_DIR": "{dir}", "POWERTOOLS_TRACE_DISABLED": "true"}),
    }


def _measure(cases: dict[str, Case], environ: dict[str, str], work: Path) -> Samples:
    """Each case once per run, the order rotating every run; `environ` points at the network's endpoint."""
    # As in a Lambda execution environment, where `import predictor` starts the prefetch.
    base = {
        **environ,
        "MODEL_URI": f"s3://{BUCKET}/{PREFIX}",
        **lambda_env("iris", ROOT / "functions" / "iris"),
    }
    samples = Samples({name: [] for name in cases}, {name: [] for name in cases})
    names = list(cases)
    for index in range(RUNS):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            if name in samples.errors:
                continue
            code, extra = cases[name]
            directory = work / f"run-{index}-{names.index(name)}"
            env = {**base, **{key: value.format(dir=directory) for key, value in extra.items()}}
            cpu = _children_cpu_seconds()
            try:
                elapsed, response = _first_response(code, env, work)
                if name != IMPORTS:
                    _check(name, response)
            except RuntimeError as exc:
                if name in (IMPORTS, NAIVE):
                    raise
                # predictor's own rows may fail while a feature is missing; the baselines still finish.
                samples.errors[name] = str(exc).strip().splitlines()[-1]
                continue
            finally:
                shutil.rmtree(directory, ignore_errors=True)
                # Write back what this run left dirty, so the next run is not billed for it.
                os.sync()
            samples.cpu[name].append(_children_cpu_seconds() - cpu)
            samples.seconds[name].append(elapsed)
    return samples


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _first_response(code: str, env: dict[str, str], work: Path) -> tuple[float, str]:
    """Seconds from spawn to the child's response line, and that line."""
    with (work / "stderr.log").open("w+") as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr
        )
        try:
            line, elapsed = _read_marker(child, start)
        finally:
            child.kill()
            child.wait(timeout=30)
            assert child.stdout is not None
            child.stdout.close()
        if line is None:
            stderr.seek(0)
            raise RuntimeError(
                f"the child answered nothing (exit {child.returncode}):\n{stderr.read()[-3000:]}"
            )
    return elapsed, line


def _read_marker(child: subprocess.Popen[bytes], start: float) -> tuple[str | None, float]:
    """Read the child's stdout unbuffered, so the response line is timed when it arrives."""
    assert child.stdout is not None
    fd = child.stdout.fileno()
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while time.perf_counter() - start < DEADLINE_S:
            if not selector.select(timeout=1.0):
                continue
            data = os.read(fd, 1 << 16)
            if not data:
                break
            pending += data
            for line in pending.split(b"\n")[:-1]:
                if line.startswith(MARKER.encode()):
                    return line[len(MARKER) :].decode(), time.perf_counter() - start
            pending = pending[pending.rfind(b"\n") + 1 :]
    return None, time.perf_counter() - start


def _check(name: str, line: str) -> None:
    response = json.loads(line)
    body = json.loads(response.get("body") or "{}")
    labels = [p.get("label") for p in body.get("predictions", [])]
    if response.get("statusCode") != 200 or labels != ["setosa"]:
        raise RuntimeError(f"{name} answered {line[:500]}")


def _report(network: s3_network.Network, padding: int, samples: Samples) -> None:
    seconds = samples.seconds
    rows = []
    for name, runs in seconds.items():
        if name in samples.errors:
            continue
        per_run = [run / base for run, base in zip(runs, seconds[NAIVE], strict=True)]
        verdict = ""
        if name == OURS:
            verdict = "PASS" if max(per_run) <= TARGET else "MISS"
        rows.append(
            [
                name,
                f"{median(runs) * 1000:.0f}",
                f"{median(samples.cpu[name]) * 1000:.0f}",
                f"{ratio(runs, seconds[NAIVE]):.2f}x",
                f"{min(per_run):.2f}-{max(per_run):.2f}x",
                verdict,
                " ".join(f"{run * 1000:.0f}" for run in runs),
            ]
        )
    print(
        f"\n-- {network.name} network: medians of {RUNS} interleaved runs; x naive = median of per-run ratios"
    )
    headers = ["case", "ms", "child CPU ms", "x naive", "range", f"every run <= {TARGET}x", "per run ms"]
    print(table(headers, rows))
    if network.proxy is not None:
        floor = padding / (s3_network.AGGREGATE.value * 1e6)
        beyond = {name: median(seconds[name]) - floor for name in (OURS, NAIVE) if name not in samples.errors}
        goal = TARGET * median(seconds[NAIVE])
        reach = "within" if floor <= goal else "out of"
        print(
            f"no client moves padding.bin faster than {floor * 1000:.0f} ms under the aggregate cap; "
            f"{TARGET} x naive is {goal * 1000:.0f} ms, so the target is {reach} reach"
        )
        if len(beyond) == 2:
            print(
                f"time beyond that floor: predictor {beyond[OURS] * 1000:.0f} ms, "
                f"naive {beyond[NAIVE] * 1000:.0f} ms ({beyond[OURS] / beyond[NAIVE]:.2f}x)"
            )
    if not samples.errors:
        prefetch = _on_off(seconds)
        print(
            f"prefetch on ÷ off: {median(prefetch):.2f}x, "
            f"{min(prefetch):.2f}-{max(prefetch):.2f}x over the runs (below 1: the prefetch wins)"
        )
    for name, error in samples.errors.items():
        print(f"ours: not available ({name}: {error})")


def _on_off(seconds: dict[str, list[float]]) -> list[float]:
    """Per run, the default (prefetch on) ÷ prefetch off."""
    return [run / off for run, off in zip(seconds[OURS], seconds[OURS_NO_PREFETCH], strict=True)]


def _prefetch_rule(loopback: list[float], shaped: list[float]) -> str:
    """The rule that decides the prefetch default, applied to this run's figures."""
    # Noise: the semi-interquartile range of the loopback runs' ratios; load from other work moves
    # whole runs together, and a spread measured within runs is the honest yardstick we have.
    centre = median(loopback)
    lower, _, upper = statistics.quantiles(loopback, n=4)
    noise = (upper - lower) / 2
    wins_shaped = median(shaped) < 1
    level_loopback = centre <= 1 + noise
    verdict = "keep it on" if wins_shaped and level_loopback else "turn it off"
    return (
        f"prefetch rule: on by default only if it wins on the shaped network (on ÷ off {median(shaped):.2f}x "
        f"< 1: {'yes' if wins_shaped else 'no'}) and loses by no more than the noise on loopback "
        f"({centre:.2f}x ≤ 1 + {noise:.2f}: {'yes' if level_loopback else 'no'}) → {verdict}"
    )
