"""`predictor train` and `docker run IMAGE train`: one training job run to SageMaker's contract.

Exit 0 when `train` returns; otherwise the reason goes to <output>/failure (SageMaker shows its
first 1,024 characters as the job's FailureReason) and to standard error, and the exit is non-zero.
SIGTERM (a stopped job, or MaxRuntimeInSeconds reached) raises TrainingStopped inside `train`,
which has SageMaker's 120 s before SIGKILL to save what it has.
"""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from predictor._loading import LoadError, load_predictor_class
from predictor.contract import ContractError, TrainingStopped, check_trainable
from predictor.training._job import TrainingConfigError, TrainingJob, hyperparameters_for
from predictor.training._settings import TrainingSettings

FAILED = 1
#: As a shell reports a process ended by SIGTERM.
STOPPED = 128 + signal.SIGTERM


def run_training(function: str, settings: TrainingSettings) -> int:
    try:
        predictor_class = load_predictor_class(function)
        check_trainable(predictor_class)
        job = TrainingJob.read(settings)
        hyperparameters = hyperparameters_for(predictor_class.Hyperparameters, job.hyperparameters)
        settings.model_dir.mkdir(parents=True, exist_ok=True)
        _say(
            f"training {predictor_class.name}: channels {_listed(job.channels)}, "
            f"hyperparameters {hyperparameters!r}, model to {settings.model_dir}"
        )
        with _stopped_by_sigterm():
            predictor_class.train(dict(job.channels), hyperparameters, settings.model_dir)
    except TrainingStopped:
        return _failed(settings, "training stopped (SIGTERM) before train returned", STOPPED)
    except (LoadError, ContractError, TrainingConfigError) as exc:
        return _failed(settings, str(exc))
    except Exception as exc:
        summary = " ".join(f"{type(exc).__name__}: {exc}".split())
        return _failed(settings, f"train raised {summary}\n\n{traceback.format_exc()}")
    _say(f"trained; the model is in {settings.model_dir}")
    return 0


@contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise TrainingStopped("SIGTERM: the training job is stopping")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _failed(settings: TrainingSettings, reason: str, code: int = FAILED) -> int:
    # The first line is the FailureReason's start: it says what went wrong, the traceback follows.
    _say(f"training failed: {reason}")
    try:
        settings.output_dir.mkdir(parents=True, exist_ok=True)
        settings.failure_file.write_text(reason)
    except OSError as exc:
        _say(f"could not write {settings.failure_file}: {exc}")
    return code


def _listed(channels: dict[str, Any]) -> str:
    return ", ".join(f"{name}={path}" for name, path in channels.items()) or "none"


def _say(line: str) -> None:
    print(f"predictor train: {line}", file=sys.stderr, flush=True)
