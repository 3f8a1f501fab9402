"""Training to SageMaker's contract: `predictor train FUNCTION` and `docker run IMAGE train`
run the predictor's `train` classmethod on the /opt/ml layout (or where `SM_*` point)."""

from predictor.contract import TrainingStopped
from predictor.training._job import TrainingConfigError, TrainingJob, decode, hyperparameters_for
from predictor.training._run import run_training
from predictor.training._settings import TrainingSettings

__all__ = [
    "TrainingConfigError",
    "TrainingJob",
    "TrainingSettings",
    "TrainingStopped",
    "decode",
    "hyperparameters_for",
    "run_training",
]
