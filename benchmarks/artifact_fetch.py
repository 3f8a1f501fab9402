"""Fetch one large object from s3rver on loopback and on the shaped network: predictor against plain ways.

The figure is throughput as a fraction of the best plain strategy timed in the same
rounds (target ≥ 0.9x), and a cache hit's latency (target ≤ 20 ms). The object is
random bytes, and every file written is checked against the object's full sha256.
Every strategy writes a fresh file on the same filesystem, deleted before the next
run, so the page cache is in the same state for all. A last table measures what the
proxy itself costs, unshaped, against going straight to s3rver. BENCH_FETCH_MB
shrinks the object, BENCH_FETCH_ROUNDS and BENCH_FETCH_SHAPED_ROUNDS set the rounds,
BENCH_NETWORKS picks the networks.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks import fetch_cases, plain_s3, s3_network, s3rver
from benchmarks._timing import median, ratio, table, versions
from benchmarks.fetch_cases import BUCKET, KEY, OURS, RANGES, STREAM, Samples

ROUNDS = int(os.environ.get("BENCH_FETCH_ROUNDS", "3"))
SHAPED_ROUNDS = int(os.environ.get("BENCH_FETCH_SHAPED_ROUNDS", "2"))
OVERHEAD_ROUNDS = 2
THROUGHPUT_TARGET = 0.9
HIT_TARGET_MS = 20.0
MIB = 1 << 20
OURS_HIT = "predictor resolve_artifacts (hit)"
OURS_FRESH_HIT = "  same hit in a fresh process"


def main() -> None:
    load_before = os.getloadavg()[0]
    size = int(os.environ.get("BENCH_FETCH_MB", "1024")) * MIB
    chosen = s3_network.selected()
    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as work, s3rver.S3rver() as server:
        client = server.client()
        client.create_bucket(Bucket=BUCKET)
        digest = plain_s3.put_random(client, BUCKET, KEY, size)
        client.put_object(Bucket=BUCKET, Key="warm-up.bin", Body=os.urandom(MIB))
        object_ = fetch_cases.Object(size, digest)
        print(f"{size / MIB:.0f} MB of random bytes on s3rver {s3rver.version()}; sha256 {digest[:16]}…")
        with s3_network.networks(server.endpoint) as networks:
            for network in networks:
                if network.name not in chosen:
                    continue
                rounds = SHAPED_ROUNDS if network.proxy else ROUNDS
                previous = s3rver.apply_env({**server.env, "AWS_ENDPOINT_URL_S3": network.endpoint})
                try:
                    cases = fetch_cases.build(network.endpoint, server.client(network.endpoint), object_)
                    samples = fetch_cases.measure(cases, object_, Path(work), rounds, network.proxy)
                finally:
                    s3rver.restore_env(previous)
                _report(network, size, rounds, samples)
        if "shaped" in chosen:
            print(s3_network.describe())
        print()
        _proxy_overhead(server, object_, Path(work))
    print(f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(versions("boto3", "botocore", "urllib3") + f", node {_node_version()}")


def _report(network: s3_network.Network, size: int, rounds: int, samples: Samples) -> None:
    megabytes = size / MIB
    seconds = samples.seconds
    best = min((STREAM, RANGES), key=lambda name: median(seconds[name]))
    rows = []
    for name, runs in seconds.items():
        throughput = ratio(seconds[best], runs)
        verdict = "baseline" if name == best else ""
        if name == OURS:
            verdict = "PASS" if throughput >= THROUGHPUT_TARGET else "MISS"
        rows.append(
            [
                name,
                f"{median(runs):.3f}",
                f"{megabytes / median(runs):.0f}",
                f"{median(samples.cpu[name]) / megabytes * 1024:.2f}",
                f"{median(samples.proxy_cpu[name]) / megabytes * 1024:.2f}" if network.proxy else "",
                f"{throughput:.2f}x",
                verdict,
                " ".join(f"{run:.2f}" for run in runs),
            ]
        )
    if samples.hits:
        hit_ms = median(samples.hits) * 1000
        verdict = "PASS" if hit_ms <= HIT_TARGET_MS else "MISS"
        if network.proxy is not None:
            verdict = "info"  # a hit still asks S3 once (HEAD or LIST), so it pays the modelled latency
        rows.append([OURS_HIT, f"{hit_ms:.1f} ms", "", "", "", "", verdict, ""])
        fresh = " ".join(f"{run * 1000:.0f}" for run in samples.fresh_hits)
        fresh_ms = f"{median(samples.fresh_hits) * 1000:.0f} ms"
        rows.append([OURS_FRESH_HIT, fresh_ms, "", "", "", "", "info", fresh])
    print(f"\n-- {network.name} network: medians of {rounds} rounds, every file checked by its full sha256")
    headers = ["strategy", "seconds", "MB/s", "CPU s/GB", "proxy CPU s/GB", "x best plain", "result"]
    headers.append("per round")
    print(table(headers, rows))
    if samples.ours_error is not None:
        print(f"ours: not available ({samples.ours_error})")
    print(
        f"targets: ours ≥ {THROUGHPUT_TARGET}x the best plain strategy (median of per-round ratios); "
        f"cache hit ≤ {HIT_TARGET_MS:.0f} ms on loopback. CPU s/GB: this process, all threads"
    )


def _proxy_overhead(server: s3rver.S3rver, object_: fetch_cases.Object, work: Path) -> None:
    """The proxy with no shaping against s3rver direct: what the relay itself costs on loopback."""
    with s3_network.proxy(server.endpoint, shaped=False) as relay:
        cases: dict[str, Callable[[Path], Path]] = {}
        for label, url in (("direct", server.endpoint), ("through the proxy", relay.endpoint)):
            plain = fetch_cases.build(url, None, object_)
            cases[f"{STREAM}, {label}"] = plain[STREAM]
            cases[f"{RANGES}, {label}"] = plain[RANGES]
        samples = fetch_cases.measure(cases, object_, work, OVERHEAD_ROUNDS, relay)
    rows = []
    megabytes = object_.size / MIB
    for name, runs in samples.seconds.items():
        direct = samples.seconds[name.replace("through the proxy", "direct")]
        rows.append(
            [
                name,
                f"{median(runs):.3f}",
                f"{ratio(runs, direct):.2f}x",
                f"{median(samples.proxy_cpu[name]) / megabytes * 1024:.2f}",
                " ".join(f"{run:.2f}" for run in runs),
            ]
        )
    print(f"proxy overhead on loopback, no shaping: medians of {OVERHEAD_ROUNDS} rounds")
    print(table(["strategy", "seconds", "x direct", "proxy CPU s/GB", "per round"], rows))


def _node_version() -> str:
    done = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip().lstrip("v") or "unknown"
