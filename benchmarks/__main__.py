"""Run every benchmark in order, or the ones named: `python -m benchmarks [NAME ...]`."""

from __future__ import annotations

import importlib
import sys
import time
import traceback

BENCHMARKS = [
    "http_overhead",
    "artifact_fetch",
    "cold_start",
    "event_init",
    "sqs_batch",
    "s3_file",
    "container_serving",
    "dynamic_batching",
    "multi_model",
]


def run(name: str) -> bool:
    """Run one benchmark module's `main()`; False if it failed."""
    module_name = f"{__package__}.{name}"
    print(f"== {name} ==", flush=True)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"{name}: not present\n", flush=True)
        return True
    started = time.perf_counter()
    try:
        module.main()
    except Exception:
        traceback.print_exc()
        print(f"{name}: failed\n", flush=True)
        return False
    print(f"({name} took {time.perf_counter() - started:.1f} s)\n", flush=True)
    return True


def main(argv: list[str]) -> int:
    unknown = [name for name in argv if name not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr
        )
        return 2
    results = [run(name) for name in argv or BENCHMARKS]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
