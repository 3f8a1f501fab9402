"""The fresh process `predictor check` starts: `python -m predictor.check FUNCTION STARTED_AT BUILD_DIR`."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from predictor.check._rows import ROWS, Probe, Row

MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "-"}


def main(argv: list[str]) -> int:
    function, started_at, build_dir = argv
    probe = Probe(function, float(started_at), Path(build_dir))
    rows: list[Row] = []
    # The function's own logs would break the table: they go to standard error.
    with contextlib.redirect_stdout(sys.stderr):
        for row in ROWS:
            rows.append(row(probe))
    print(render(function, rows))
    return 1 if any(row.status == "fail" for row in rows) else 0


def render(function: str, rows: list[Row]) -> str:
    width = max(len(row.name) for row in rows)
    lines = [f"predictor check {function}"]
    lines += [f"  {MARKS[row.status]:<4}  {row.name:<{width}}  {row.detail}" for row in rows]
    fixes = [row for row in rows if row.fix and row.status in ("fail", "warn")]
    if fixes:
        lines.append("")
        lines += [f"{row.name}: {row.fix}" for row in fixes]
    failed = sum(row.status == "fail" for row in rows)
    lines.append(f"\n{failed} failed" if failed else "\nready to deploy")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
