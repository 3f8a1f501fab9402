"""The ONNX Runtime session helper: provider choice, CPU fallback, threads from the CPUs granted."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from support.paths import REPO

from predictor.onnx_session import CPU, CUDA, available_cpus, choose_providers, open_session

IRIS_MODEL = REPO / "functions" / "iris" / "model" / "model.onnx"
AFFINITY = len(os.sched_getaffinity(0))


def test_cuda_is_chosen_first_when_present_with_the_cpu_behind_it() -> None:
    assert choose_providers([CUDA, CPU]) == [CUDA, CPU]
    assert choose_providers([CPU, CUDA, "TensorrtExecutionProvider"]) == [CUDA, CPU]


def test_the_cpu_alone_when_no_gpu_provider_is_installed() -> None:
    assert choose_providers([CPU]) == [CPU]
    assert choose_providers(["AzureExecutionProvider"]) == [CPU]


def cgroup(tmp_path: Path, cpu_max: str) -> Path:
    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    return path


def test_cgroup_v2_quota_bounds_the_threads(tmp_path: Path) -> None:
    assert available_cpus({}, cpu_max=cgroup(tmp_path, "150000 100000\n")) == 1
    assert available_cpus({}, cpu_max=cgroup(tmp_path, "max 100000\n")) == AFFINITY
    assert available_cpus({}, cpu_max=cgroup(tmp_path, "6400000 100000\n")) == AFFINITY


def test_cgroup_v1_quota_is_read_when_v2_is_absent(tmp_path: Path) -> None:
    (tmp_path / "quota").write_text("50000\n")
    (tmp_path / "period").write_text("100000\n")
    cpus = available_cpus(
        {}, cpu_max=tmp_path / "missing", v1_quota=tmp_path / "quota", v1_period=tmp_path / "period"
    )
    assert cpus == 1


def test_lambda_memory_size_grants_one_vcpu_per_1769_mb(tmp_path: Path) -> None:
    unlimited = cgroup(tmp_path, "max 100000")
    assert available_cpus({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769"}, cpu_max=unlimited) == 1
    assert available_cpus({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}, cpu_max=unlimited) == 1
    assert available_cpus({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240"}, cpu_max=unlimited) == min(5, AFFINITY)


def session_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage().startswith("onnx session")]


@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider'")
def test_asking_for_cuda_without_a_gpu_falls_back_to_the_cpu_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    session = open_session(IRIS_MODEL, providers=[CUDA, CPU], environ={})

    assert session.get_providers() == [CPU]
    (line,) = session_lines(caplog)
    assert line.getMessage().startswith(f"onnx session on {CPU} with ")
    assert line.providers == [CPU]  # type: ignore[attr-defined]


def test_a_lambda_sized_box_gets_one_intra_op_thread(caplog: pytest.LogCaptureFixture) -> None:
    open_session(IRIS_MODEL, environ={"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769"})
    (line,) = session_lines(caplog)
    assert line.intra_op_threads == 1  # type: ignore[attr-defined]
