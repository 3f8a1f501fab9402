"""The child processes benchmarks start (S3 servers, proxies): stopping them and reading their CPU time."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill if it has not gone within 10 s; close its pipes."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far; 0 once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat(5); 12 and 13 after the command name.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
