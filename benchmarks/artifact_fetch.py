"""Fetch one large object from a loopback s3rver: predictor's resolver against the plain ways.

The figure is throughput as a fraction of the best plain strategy timed in the same
rounds (target ≥ 0.9x), and a cache hit's latency (target ≤ 20 ms). Every strategy
writes a fresh file on the same filesystem, which is deleted before the next run, so
the page cache is in the same state for all. BENCH_FETCH_MB shrinks the object and
BENCH_FETCH_ROUNDS sets the rounds.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import plain_s3, s3rver
from benchmarks._timing import median, ratio, table, versions

BUCKET = "bench-artifacts"
KEY = "big.bin"
URI = f"s3://{BUCKET}/{KEY}"
ROUNDS = int(os.environ.get("BENCH_FETCH_ROUNDS", "3"))
HIT_CALLS = 5
THROUGHPUT_TARGET = 0.9
HIT_TARGET_MS = 20.0
MIB = 1 << 20
SAMPLE_BYTES = 64 * 1024

STREAM = "plain: one streaming GET"
RANGES = "plain: 8 threads x 16 MB range GETs"
DOWNLOAD_FILE = "boto3 download_file (defaults)"
OURS = "predictor resolve_artifacts (miss)"
OURS_HIT = "predictor resolve_artifacts (hit)"
OURS_FRESH_HIT = "  same hit in a fresh process"
# Times only the resolve call, after `import predictor.artifacts`: what a restarted runtime pays.
FRESH_HIT = """
import sys, time
from predictor.artifacts import resolve_artifacts
start = time.perf_counter()
resolve_artifacts(sys.argv[1])
print(time.perf_counter() - start)
"""


@dataclass
class Samples:
    seconds: dict[str, list[float]]
    # CPU seconds of this process (all its threads): what a strategy costs on a busy machine.
    cpu: dict[str, list[float]]
    hits: list[float] = field(default_factory=list)
    fresh_hits: list[float] = field(default_factory=list)
    ours_error: str | None = None


def main() -> None:
    load_before = os.getloadavg()[0]
    size = int(os.environ.get("BENCH_FETCH_MB", "1024")) * MIB
    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as work, s3rver.S3rver() as server:
        client = server.client()
        client.create_bucket(Bucket=BUCKET)
        plain_s3.put_random(client, BUCKET, KEY, size)
        client.put_object(Bucket=BUCKET, Key="warm-up.bin", Body=os.urandom(MIB))
        previous = s3rver.apply_env(server.env)
        try:
            samples = _measure(server, client, size, Path(work))
        finally:
            s3rver.restore_env(previous)
    _report(size, samples, load_before)


def _measure(server: s3rver.S3rver, client: Any, size: int, work: Path) -> Samples:
    endpoint = plain_s3.Endpoint(server.endpoint, *s3rver.CREDENTIALS.values())
    reference = _sample(partial(_ranged, endpoint, size), size)
    runs = iter(range(10**6))

    def fresh(name: str) -> Path:
        path = work / f"{name}-{next(runs)}"
        path.mkdir()
        return path

    def stream(directory: Path) -> Path:
        plain_s3.stream_get(endpoint, BUCKET, KEY, directory / KEY)
        return directory / KEY

    def ranges(directory: Path) -> Path:
        plain_s3.range_get(endpoint, BUCKET, KEY, size, directory / KEY)
        return directory / KEY

    def download_file(directory: Path) -> Path:
        client.download_file(BUCKET, KEY, str(directory / KEY))
        return directory / KEY

    cases: dict[str, Callable[[Path], Path]] = {
        STREAM: stream,
        RANGES: ranges,
        DOWNLOAD_FILE: download_file,
        OURS: lambda directory: _resolve(URI, directory) / KEY,
    }
    ours_error = _warm_up(fresh("warm-up"))
    if ours_error is not None:
        del cases[OURS]
    samples = Samples({name: [] for name in cases}, {name: [] for name in cases}, ours_error=ours_error)
    names = list(cases)
    for index in range(ROUNDS):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            directory = fresh("run")
            cpu, start = _cpu_seconds(), time.perf_counter()
            path = cases[name](directory)
            samples.seconds[name].append(time.perf_counter() - start)
            samples.cpu[name].append(_cpu_seconds() - cpu)
            if path.stat().st_size != size or _sample(partial(_read, path), size) != reference:
                raise RuntimeError(f"{name} wrote a file that differs from s3://{BUCKET}/{KEY}")
            if name == OURS:
                samples.hits.extend(_hit_seconds(directory, path))
                samples.fresh_hits.append(_fresh_hit_seconds(directory))
            shutil.rmtree(directory)
            # Write back what this case left dirty, so the next case is not billed for it.
            os.sync()
    return samples


def _resolve(uri: str, cache_dir: Path) -> Path:
    from predictor.artifacts import resolve_artifacts

    return resolve_artifacts(uri, environ={"PREDICTOR_CACHE_DIR": str(cache_dir)})


def _warm_up(directory: Path) -> str | None:
    """Import predictor.artifacts and build its client outside the timings; the error if it cannot."""
    try:
        _resolve(f"s3://{BUCKET}/warm-up.bin", directory)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return None


def _hit_seconds(directory: Path, expected: Path) -> list[float]:
    samples = []
    for _ in range(HIT_CALLS):
        start = time.perf_counter()
        found = _resolve(URI, directory) / KEY
        samples.append(time.perf_counter() - start)
        if found != expected:
            raise RuntimeError(f"a cache hit answered {found}, not the cached {expected}")
    return samples


def _fresh_hit_seconds(directory: Path) -> float:
    env = {**os.environ, "PREDICTOR_CACHE_DIR": str(directory), "PREDICTOR_PREFETCH": "0"}
    done = subprocess.run(
        [sys.executable, "-c", FRESH_HIT, URI],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"a fresh process could not resolve {URI} from the cache:\n{done.stderr[-3000:]}")
    return float(done.stdout.split()[-1])


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sample(read: Callable[[int], bytes], size: int) -> list[bytes]:
    """64 KiB at the start, the middle and the end: cheap evidence the bytes are right."""
    return [read(offset) for offset in (0, size // 2, max(0, size - SAMPLE_BYTES))]


def _ranged(endpoint: plain_s3.Endpoint, size: int, offset: int) -> bytes:
    with endpoint.get(BUCKET, KEY, f"bytes={offset}-{min(offset + SAMPLE_BYTES, size) - 1}") as response:
        return response.read()


def _read(path: Path, offset: int) -> bytes:
    with path.open("rb") as file:
        file.seek(offset)
        return file.read(SAMPLE_BYTES)


def _report(size: int, samples: Samples, load_before: float) -> None:
    megabytes = size / MIB
    seconds = samples.seconds
    best = min((STREAM, RANGES), key=lambda name: median(seconds[name]))
    rows = []
    for name, runs in seconds.items():
        throughput = ratio(seconds[best], runs)
        verdict = "baseline" if name == best else ""
        if name == OURS:
            verdict = "PASS" if throughput >= THROUGHPUT_TARGET else "MISS"
        cpu = median(samples.cpu[name])
        rows.append(
            [
                name,
                f"{median(runs):.3f}",
                f"{megabytes / median(runs):.0f}",
                f"{cpu / megabytes * 1024:.2f}",
                f"{throughput:.2f}x",
                verdict,
                " ".join(f"{run:.2f}" for run in runs),
            ]
        )
    if samples.hits:
        hit_ms = median(samples.hits) * 1000
        rows.append(
            [OURS_HIT, f"{hit_ms:.1f} ms", "", "", "", "PASS" if hit_ms <= HIT_TARGET_MS else "MISS", ""]
        )
        fresh = " ".join(f"{run * 1000:.0f}" for run in samples.fresh_hits)
        rows.append(
            [OURS_FRESH_HIT, f"{median(samples.fresh_hits) * 1000:.0f} ms", "", "", "", "info", fresh]
        )
    print(f"{megabytes:.0f} MB object on s3rver {s3rver.version()} over loopback; medians of {ROUNDS} rounds")
    headers = ["strategy", "seconds", "MB/s", "CPU s/GB", "x best plain", "result", "per round"]
    print(table(headers, rows))
    if samples.ours_error is not None:
        print(f"ours: not available ({samples.ours_error})")
    print(
        f"targets: ours ≥ {THROUGHPUT_TARGET}x the best plain strategy (median of per-round ratios); "
        f"cache hit ≤ {HIT_TARGET_MS:.0f} ms. CPU s/GB: this process, all threads (s3rver excluded)"
    )
    print(f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(versions("boto3", "botocore", "urllib3") + f", node {_node_version()}")


def _node_version() -> str:
    done = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip().lstrip("v") or "unknown"
