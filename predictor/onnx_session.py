"""Open an ONNX Runtime session on the best provider present, sized to the CPUs actually granted.

`open_session(path)` picks CUDA when onnxruntime-gpu sees a GPU, else the CPU; sets thread
counts from the cores the container may use (cgroup quota and CPU affinity, not the host's
count; on Lambda, the vCPUs its memory size buys); runs one warm-up inference so the first
request does not pay for lazy initialisation; and logs one line naming the provider.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from predictor._log import logger

CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"
PREFERENCE = (CUDA, CPU)
CGROUP_V2_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
# Lambda grants one vCPU per 1,769 MB of memory.
LAMBDA_MB_PER_VCPU = 1769


def choose_providers(available: Sequence[str]) -> list[str]:
    """The providers to ask for, best first: CUDA when present, and always the CPU to fall back on."""
    return [provider for provider in PREFERENCE if provider in available or provider == CPU]


def available_cpus(
    environ: Mapping[str, str] | None = None,
    *,
    cpu_max: Path = CGROUP_V2_CPU_MAX,
    v1_quota: Path = CGROUP_V1_QUOTA,
    v1_period: Path = CGROUP_V1_PERIOD,
) -> int:
    """Whole CPUs this process may keep busy: the least of affinity, cgroup quota and Lambda's grant."""
    environ = os.environ if environ is None else environ
    counts = [len(os.sched_getaffinity(0))]
    quota = _cgroup_quota(cpu_max, v1_quota, v1_period)
    if quota is not None:
        counts.append(max(1, math.floor(quota)))
    memory = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    if memory.isdigit():
        counts.append(max(1, int(memory) // LAMBDA_MB_PER_VCPU))
    return min(counts)


def _cgroup_quota(cpu_max: Path, v1_quota: Path, v1_period: Path) -> float | None:
    """CPUs' worth of quota, or None when unlimited or unreadable."""
    try:
        quota, _, period = cpu_max.read_text().strip().partition(" ")
        if quota == "max":
            return None
        return int(quota) / int(period or 100_000)
    except (OSError, ValueError):
        pass
    try:
        v1 = int(v1_quota.read_text())
        return None if v1 <= 0 else v1 / int(v1_period.read_text())
    except (OSError, ValueError):
        return None


def open_session(
    model: str | Path,
    *,
    max_threads: int | None = None,
    providers: Sequence[str] | None = None,
    warm_up: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """An `onnxruntime.InferenceSession` on the best provider, warmed up.

    `max_threads` caps the intra-op threads (1 suits tiny models, whose cost is the call).
    `providers` overrides the choice (e.g. ["CPUExecutionProvider"] to keep a GPU free).
    """
    import onnxruntime

    threads = available_cpus(environ)
    if max_threads is not None:
        threads = max(1, min(threads, max_threads))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle intra-op threads sleep instead of spinning: a server's event loop (parsing the next
    # requests while a batch runs) needs those cores; spinning cost 40% more CPU per instance.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    wanted = list(providers) if providers else choose_providers(onnxruntime.get_available_providers())
    session = onnxruntime.InferenceSession(str(model), options, providers=wanted)
    if warm_up:
        session.run(None, _warm_up_feed(session))
    # ORT falls back to the CPU silently when CUDA fails to start: report what it really uses.
    logger().info(
        "onnx session on %s with %d intra-op thread(s): %s",
        session.get_providers()[0],
        threads,
        Path(model).name,
        extra={"providers": session.get_providers(), "intra_op_threads": threads},
    )
    return session


def _warm_up_feed(session: Any) -> dict[str, Any]:
    import numpy as np

    feed = {}
    for node in session.get_inputs():
        shape = [dim if isinstance(dim, int) and dim > 0 else 1 for dim in node.shape]
        dtype = _NUMPY_TYPES.get(node.type, "float32")
        feed[node.name] = np.zeros(shape, dtype=dtype)
    return feed


_NUMPY_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}
