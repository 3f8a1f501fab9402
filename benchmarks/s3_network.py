"""The two networks the artifact benchmarks run on: loopback, and S3 as a Lambda function sees it.

The shaped network puts `shaping_proxy.py` between the client and s3rver. Each figure
of the model comes with its source, and the benchmarks print both. BENCH_S3_LATENCY_MS,
BENCH_S3_CONNECTION_MBPS and BENCH_S3_AGGREGATE_MBPS override them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks import _processes

PROXY = Path(__file__).with_name("shaping_proxy.py")
START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    source: str

    def line(self) -> str:
        return f"  {self.name}: {self.value:g} {self.unit} — {self.source}"


LATENCY = Figure(
    "first-byte latency per request",
    float(os.environ.get("BENCH_S3_LATENCY_MS", "30")),
    "ms",
    "AWS says the median latency of small S3 requests is 'often in the tens of milliseconds' "
    "(Best Practices Design Patterns: Optimizing Amazon S3 Performance, 'Timeouts and Retries for "
    "Latency-Sensitive Applications', docs.aws.amazon.com/whitepapers/latest/"
    "s3-optimizing-performance-best-practices/timeouts-and-retries-for-latency-sensitive-applications.html); "
    "whole boto3 requests from Lambda to S3 in the same region measured 60-120 ms "
    "(kkc.github.io/2020/03/16/s3-latency)",
)
PER_CONNECTION = Figure(
    "throughput per connection",
    float(os.environ.get("BENCH_S3_CONNECTION_MBPS", "90")),
    "MB/s",
    "AWS advises 'one concurrent request for each 85-90 MB/s of desired network throughput' "
    "(Performance guidelines for Amazon S3, 'Scale storage connections horizontally', "
    "docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance-guidelines.html)",
)
AGGREGATE = Figure(
    "throughput of the function, all connections",
    float(os.environ.get("BENCH_S3_AGGREGATE_MBPS", "87.5")),
    "MB/s",
    "AWS publishes no network figure for Lambda; a function downloading 10 MB to 10 GB files "
    "measured 400-700 Mbit/s, 1 GB in 16.5 s (Lee Harding, 'Serverless, large file downloads to S3', "
    "medium.com/circuitpeople/serverless-large-file-downloads-to-s3-a11b4ef4788e); "
    "the model takes the top of that range, 700 Mbit/s",
)
MODEL = (LATENCY, PER_CONNECTION, AGGREGATE)


@dataclass(frozen=True)
class Network:
    name: str
    endpoint: str
    proxy: ShapingProxy | None = None


class ShapingProxy:
    """The proxy process in front of an S3 endpoint; `cpu_seconds()` reads its CPU time from /proc."""

    def __init__(self, upstream: str, *, shaped: bool) -> None:
        options = []
        if shaped:
            options = [
                f"--latency-ms={LATENCY.value}",
                f"--connection-mbps={PER_CONNECTION.value}",
                f"--aggregate-mbps={AGGREGATE.value}",
            ]
        address = upstream.removeprefix("http://")
        self.process = subprocess.Popen(
            [sys.executable, str(PROXY), "--upstream", address, *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.endpoint = self._wait_for_address()

    def _wait_for_address(self) -> str:
        assert self.process.stdout is not None
        stdout = self.process.stdout
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        line = lines[0].decode() if lines else ""
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the shaping proxy did not start within {START_TIMEOUT_S:.0f} s: {line!r}")
        return line.removeprefix("listening on ").strip()

    def cpu_seconds(self) -> float:
        return _processes.cpu_seconds(self.process.pid)

    def stop(self) -> None:
        _processes.stop(self.process)


@contextmanager
def proxy(upstream: str, *, shaped: bool) -> Iterator[ShapingProxy]:
    handle = ShapingProxy(upstream, shaped=shaped)
    try:
        yield handle
    finally:
        handle.stop()


@contextmanager
def networks(endpoint: str) -> Iterator[list[Network]]:
    """Loopback straight to `endpoint`, and the shaped network through a proxy in front of it."""
    with proxy(endpoint, shaped=True) as shaped:
        yield [Network("loopback", endpoint), Network("shaped", shaped.endpoint, shaped)]


def describe() -> str:
    heading = "shaped network: S3 as a Lambda function sees it, modelled by a proxy in front of s3rver"
    return "\n".join([heading, *(figure.line() for figure in MODEL)])


def selected(names: str | None = None) -> list[str]:
    """The networks BENCH_NETWORKS names (default both): `loopback`, `shaped`."""
    chosen = (names or os.environ.get("BENCH_NETWORKS") or "loopback,shaped").split(",")
    unknown = [name for name in chosen if name not in ("loopback", "shaped")]
    if unknown:
        raise ValueError(f"BENCH_NETWORKS names {unknown}; choose from loopback, shaped")
    return chosen
