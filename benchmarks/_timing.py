"""Timing shared by the benchmarks: medians of interleaved rounds, same-run ratios, fresh processes, tables.

The machines are shared and noisy, so every figure is a median over rounds and every
comparison is a ratio against a baseline timed in the same rounds.
"""

from __future__ import annotations

import gc
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROUNDS = 7
SECONDS_PER_ROUND = 0.1
MAX_CALLS_PER_ROUND = 200_000
FRESH_PROCESS_TIMEOUT_S = 120.0


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ratio(samples: Sequence[float], baseline: Sequence[float]) -> float:
    """Median of the per-round ratios: each round's pair ran moments apart, so drift cancels."""
    return median([value / base for value, base in zip(samples, baseline, strict=True)])


def calls_per_round(fn: Callable[[], object], seconds: float = SECONDS_PER_ROUND) -> int:
    """How many calls of `fn` fill about `seconds`, found by doubling a warm loop."""
    fn()
    count = 1
    while True:
        start = time.perf_counter()
        for _ in range(count):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 8 or count >= MAX_CALLS_PER_ROUND:
            break
        count *= 2
    return max(1, min(MAX_CALLS_PER_ROUND, round(seconds * count / elapsed)))


def interleaved(
    cases: Mapping[str, Callable[[], object]],
    *,
    rounds: int = ROUNDS,
    seconds_per_round: float = SECONDS_PER_ROUND,
) -> dict[str, list[float]]:
    """Seconds per call of each case, one sample per round.

    The order rotates every round so no case always runs first (warm caches) or last.
    """
    return interleaved_clocks(cases, rounds=rounds, seconds_per_round=seconds_per_round)[0]


def interleaved_clocks(
    cases: Mapping[str, Callable[[], object]],
    *,
    rounds: int = ROUNDS,
    seconds_per_round: float = SECONDS_PER_ROUND,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """`interleaved`'s wall seconds per call, and this process's CPU seconds per call in the same
    samples: on a shared machine the wall time of a short sample swings with other processes'
    load, while the CPU time of single-threaded work holds."""
    calls = {name: calls_per_round(fn, seconds_per_round) for name, fn in cases.items()}
    names = list(cases)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            fn, count = cases[name], calls[name]
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(count):
                fn()
            wall[name].append((time.perf_counter() - start) / count)
            cpu[name].append((time.process_time() - start_cpu) / count)
    return wall, cpu


def fresh_process(
    code: str, *, cwd: Path, env: Mapping[str, str] | None = None
) -> tuple[float, dict[str, Any]]:
    """Run `python -c code` in a new interpreter: (wall seconds, the JSON object it printed last)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=FRESH_PROCESS_TIMEOUT_S,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"fresh process failed ({done.returncode}):\n{done.stderr.strip()}")
    lines = done.stdout.strip().splitlines()
    return wall, json.loads(lines[-1]) if lines else {}


def versions(*distributions: str) -> str:
    """`python 3.11.7, pydantic 2.9.2, ...` for the benchmark's output."""
    pinned = [f"python {platform.python_version()}"]
    for name in distributions:
        try:
            pinned.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pinned.append(f"{name} (not installed)")
    return ", ".join(pinned)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the figures right-aligned."""
    widths = [max(len(str(row[column])) for row in [headers, *rows]) for column in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = (str(cell) for cell in cells)
        parts = [first.ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])
