"""The strategies the fetch benchmark times, and the interleaved rounds that time them."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import plain_s3, s3rver
from benchmarks.s3_network import ShapingProxy

BUCKET = "bench-artifacts"
KEY = "big.bin"
URI = f"s3://{BUCKET}/{KEY}"
HIT_CALLS = 5

STREAM = "plain: one streaming GET"
RANGES = "plain: 8 threads x 16 MB range GETs"
DOWNLOAD_FILE = "boto3 download_file (defaults)"
OURS = "predictor resolve_artifacts (miss)"
# Times only the resolve call, after `import predictor.artifacts`: what a restarted runtime pays.
FRESH_HIT = """
import sys, time
from predictor.artifacts import resolve_artifacts
start = time.perf_counter()
resolve_artifacts(sys.argv[1])
print(time.perf_counter() - start)
"""

Case = Callable[[Path], Path]


@dataclass(frozen=True)
class Object:
    size: int
    sha256: str


@dataclass
class Samples:
    seconds: dict[str, list[float]]
    # CPU seconds of this process (all its threads): what a strategy costs on a busy machine.
    cpu: dict[str, list[float]]
    proxy_cpu: dict[str, list[float]]
    hits: list[float] = field(default_factory=list)
    fresh_hits: list[float] = field(default_factory=list)
    ours_error: str | None = None


def build(endpoint: str, client: Any, object_: Object) -> dict[str, Case]:
    """The plain strategies against `endpoint`; with a boto3 `client`, download_file and ours too."""
    plain = plain_s3.Endpoint(endpoint, *s3rver.CREDENTIALS.values())

    def stream(directory: Path) -> Path:
        plain_s3.stream_get(plain, BUCKET, KEY, directory / KEY)
        return directory / KEY

    def ranges(directory: Path) -> Path:
        plain_s3.range_get(plain, BUCKET, KEY, object_.size, directory / KEY)
        return directory / KEY

    cases: dict[str, Case] = {STREAM: stream, RANGES: ranges}
    if client is None:
        return cases

    def download_file(directory: Path) -> Path:
        client.download_file(BUCKET, KEY, str(directory / KEY))
        return directory / KEY

    cases[DOWNLOAD_FILE] = download_file
    cases[OURS] = lambda directory: resolve(URI, directory) / KEY
    return cases


def measure(
    cases: dict[str, Case], object_: Object, work: Path, rounds: int, proxy: ShapingProxy | None
) -> Samples:
    counter = iter(range(10**6))

    def fresh(name: str) -> Path:
        path = work / f"{name}-{next(counter)}"
        path.mkdir()
        return path

    ours_error = _warm_up(fresh("warm-up")) if OURS in cases else None
    if ours_error is not None:
        cases = {name: case for name, case in cases.items() if name != OURS}
    empty: Callable[[], dict[str, list[float]]] = lambda: {name: [] for name in cases}  # noqa: E731
    samples = Samples(empty(), empty(), empty(), ours_error=ours_error)
    names = list(cases)
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            directory = fresh("run")
            proxy_cpu = proxy.cpu_seconds() if proxy else 0.0
            cpu, start = _cpu_seconds(), time.perf_counter()
            path = cases[name](directory)
            samples.seconds[name].append(time.perf_counter() - start)
            samples.cpu[name].append(_cpu_seconds() - cpu)
            samples.proxy_cpu[name].append(proxy.cpu_seconds() - proxy_cpu if proxy else 0.0)
            if path.stat().st_size != object_.size or plain_s3.sha256_file(path) != object_.sha256:
                raise RuntimeError(f"{name} wrote a file that differs from s3://{BUCKET}/{KEY}")
            if name == OURS:
                samples.hits.extend(_hit_seconds(directory, path))
                samples.fresh_hits.append(_fresh_hit_seconds(directory))
            shutil.rmtree(directory)
            # Write back what this case left dirty, so the next case is not billed for it.
            os.sync()
    return samples


def resolve(uri: str, cache_dir: Path) -> Path:
    from predictor.artifacts import resolve_artifacts

    # The whole environment: the endpoint and credentials come from it, as on Lambda.
    return resolve_artifacts(uri, environ={**os.environ, "PREDICTOR_CACHE_DIR": str(cache_dir)})


def _warm_up(directory: Path) -> str | None:
    """Import predictor.artifacts and build its client outside the timings; the error if it cannot."""
    try:
        resolve(f"s3://{BUCKET}/warm-up.bin", directory)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return None


def _hit_seconds(directory: Path, expected: Path) -> list[float]:
    samples = []
    for _ in range(HIT_CALLS):
        start = time.perf_counter()
        found = resolve(URI, directory) / KEY
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
