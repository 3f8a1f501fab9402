"""serverless-predictor: one predictor class served on Lambda, events, SageMaker and locally."""

from predictor._predictor import ContractError, Predictor, PredictorError
from predictor.limits import Limits

__all__ = ["ContractError", "Limits", "Predictor", "PredictorError"]
