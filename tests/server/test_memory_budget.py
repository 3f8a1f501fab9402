"""A multi-model server's memory budget: the setting, bounded by 90% of the container's cgroup
limit read as cgroup v2 or v1 writes it; no limit where neither bounds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from predictor.server import memory

GIB = 1024**3


def limit_files(tmp_path: Path, v2: str | None, v1: str | None) -> tuple[Path, Path]:
    paths = (tmp_path / "memory.max", tmp_path / "memory" / "memory.limit_in_bytes")
    for path, text in zip(paths, (v2, v1), strict=True):
        if text is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")
    return paths


@pytest.mark.parametrize(
    ("v2", "v1", "limit"),
    [
        (str(4 * GIB), None, 4 * GIB),
        ("max", str(2 * GIB), None),  # v2 says unlimited: v1's file is not consulted
        (None, str(2 * GIB), 2 * GIB),
        (None, "9223372036854771712", None),  # v1's "no limit"
        (None, None, None),
    ],
)
def test_the_cgroup_limit_is_read_as_v2_or_v1_writes_it(
    tmp_path: Path, v2: str | None, v1: str | None, limit: int | None
) -> None:
    assert memory.cgroup_limit_bytes(limit_files(tmp_path, v2, v1)) == limit


@pytest.mark.parametrize(
    ("setting", "cgroup", "budget"),
    [
        (None, None, None),
        (GIB, None, GIB),
        (None, 10 * GIB, 9 * GIB),
        (GIB, 10 * GIB, GIB),
        (20 * GIB, 10 * GIB, 9 * GIB),
    ],
)
def test_the_budget_is_the_setting_within_ninety_percent_of_the_cgroup_limit(
    setting: int | None, cgroup: int | None, budget: int | None
) -> None:
    assert memory.budget_bytes(setting, cgroup) == budget


def test_the_resident_size_is_this_process_s_and_grows_with_what_it_writes() -> None:
    before = memory.resident_bytes()
    ballast = b"\x01" * (64 * 1024 * 1024)
    after = memory.resident_bytes()

    assert before is not None and after is not None
    assert after - before > 60 * 1024 * 1024
    del ballast
