"""serverless-predictor: one predictor class served on Lambda, events, SageMaker and locally."""

from predictor._predictor import ContractError, Predictor, PredictorError
from predictor.artifacts import start_prefetch
from predictor.limits import Limits

__all__ = ["ContractError", "Limits", "Predictor", "PredictorError"]

# With MODEL_URI=s3://..., the download starts now and overlaps the app's own imports.
start_prefetch()
