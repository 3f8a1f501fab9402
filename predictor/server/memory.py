"""The server process's memory: what it holds now, what it may hold, and handing freed memory back.

A multi-model server refuses a load (507) when its resident memory would pass its budget, and
returns an unloaded model's memory to the system before it answers the unload.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from pathlib import Path

# cgroup v2, then v1; v1 reports "no limit" as a number near 2**63.
CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
NO_LIMIT_ABOVE = 1 << 60
#: The share of the container's limit models may take; the rest is the requests' own memory.
CGROUP_SHARE = 0.9
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """This process's resident set size, from /proc (None where there is no /proc)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * PAGE_SIZE


def cgroup_limit_bytes(paths: tuple[Path, ...] = CGROUP_LIMITS) -> int | None:
    for path in paths:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < NO_LIMIT_ABOVE:
            return int(text)
        return None
    return None


def budget_bytes(setting: int | None, cgroup_limit: int | None) -> int | None:
    """The smaller of the setting and the container's share; None when neither bounds it."""
    bounds = [bound for bound in (setting, cgroup_limit and int(cgroup_limit * CGROUP_SHARE)) if bound]
    return min(bounds) if bounds else None


def release_freed_memory() -> None:
    """Collect what the unload left unreachable and have the C allocator hand freed pages back,
    so the resident size falls now rather than at some later allocation."""
    gc.collect()
    _malloc_trim()


def _load_malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None  # glibc only
    except (OSError, AttributeError):
        return None


_trim = _load_malloc_trim()


def _malloc_trim() -> None:
    if _trim is not None:
        _trim(0)


def mib(count: int) -> str:
    return f"{count / (1024 * 1024):.0f} MiB"
